import { idFloor } from '@baton/core';
import { Prisma, type PrismaClient } from './prisma';

export interface PendingRow {
  handler: string;
  waiting: number;
  oldestWaitingMs: number;
}

export interface RetryRow {
  handler: string;
  succeeded: number;
  failed: number;
  attempts: number;
  /** Attempts beyond the first, per success: how hard each success was to get. */
  retriesPerSuccess: number | null;
}

/** Dead-letter kinds, one index range each. */
const DEAD_LETTER_KINDS = ['task', 'batch_job', 'inference_item', 'delivery'];

/**
 * The questions operators ask of the history (REQUIREMENTS §4), each answered from an index range, not a table scan:
 * work waiting too long (tasks (status, id): ids sort by creation time), attempts per success over a window
 * (tasks (status, finished_at)), dead letters per kind over a window (dead_letters (kind, created_at)).
 */
export class OpsStore {
  constructor(private readonly prisma: PrismaClient) {}

  async pendingTooLong(olderThanMs: number, now = new Date()): Promise<PendingRow[]> {
    const floor = idFloor('task', now.getTime() - olderThanMs);
    const rows = await this.prisma.$queryRaw<{ handler: string; waiting: number; oldest: Date }[]>`
      SELECT handler, count(*)::int AS waiting, min(created_at) AS oldest FROM tasks
      WHERE status = 'queued' AND id < ${floor} AND (run_at IS NULL OR run_at <= ${now})
      GROUP BY handler ORDER BY waiting DESC`;
    return rows.map((r) => ({
      handler: r.handler,
      waiting: r.waiting,
      oldestWaitingMs: now.getTime() - r.oldest.getTime(),
    }));
  }

  async retriesPerSuccess(windowMs: number, now = new Date()): Promise<RetryRow[]> {
    const since = new Date(now.getTime() - windowMs);
    const rows = await this.prisma.$queryRaw<
      { handler: string; succeeded: number; failed: number; attempts: number }[]
    >`
      SELECT handler, count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
             count(*) FILTER (WHERE status = 'failed')::int AS failed, sum(attempts)::int AS attempts
      FROM tasks WHERE status IN ('succeeded', 'failed') AND finished_at >= ${since}
      GROUP BY handler ORDER BY handler`;
    return rows.map((r) => ({
      ...r,
      retriesPerSuccess:
        r.succeeded > 0 ? Math.round(((r.attempts - r.succeeded - r.failed) / r.succeeded) * 100) / 100 : null,
    }));
  }

  async deadLettersByKind(windowMs: number, now = new Date()): Promise<{ kind: string; count: number }[]> {
    const since = new Date(now.getTime() - windowMs);
    const parts = DEAD_LETTER_KINDS.map(
      (kind) =>
        Prisma.sql`SELECT ${kind}::text AS kind, count(*)::int AS count FROM dead_letters WHERE kind = ${kind} AND created_at >= ${since}`,
    );
    return this.prisma.$queryRaw<{ kind: string; count: number }[]>`${Prisma.join(parts, ' UNION ALL ')}`;
  }
}
