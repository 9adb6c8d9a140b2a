import type { PrismaClient } from './prisma';

export interface DeadLetterView {
  id: string;
  kind: string;
  subjectId: string;
  tenantId: string | null;
  queue: string;
  jobName: string;
  error: unknown;
  attempts: number;
  createdAt: string;
  replayedAt?: string;
}

type Row = Awaited<ReturnType<PrismaClient['deadLetter']['findUniqueOrThrow']>>;

const view = (d: Row): DeadLetterView => ({
  id: d.id,
  kind: d.kind,
  subjectId: d.subjectId,
  tenantId: d.tenantId,
  queue: d.queue,
  jobName: d.jobName,
  error: d.error,
  attempts: d.attempts,
  createdAt: d.createdAt.toISOString(),
  replayedAt: d.replayedAt?.toISOString(),
});

/** Work that failed for good, per kind, newest first; a replay is recorded once. */
export class DeadLetterStore {
  constructor(private readonly prisma: PrismaClient) {}

  async list(
    filter: { kind?: string; tenantId?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<DeadLetterView[]> {
    const rows = await this.prisma.deadLetter.findMany({
      where: { kind: filter.kind, tenantId: filter.tenantId, ...(beforeId ? { id: { lt: beforeId } } : {}) },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(view);
  }

  async find(id: string): Promise<DeadLetterView | null> {
    const row = await this.prisma.deadLetter.findUnique({ where: { id } });
    return row ? view(row) : null;
  }

  /** Marks the dead letter replayed; false when it already was (a concurrent or repeated replay). */
  async markReplayed(id: string): Promise<boolean> {
    const { count } = await this.prisma.deadLetter.updateMany({
      where: { id, replayedAt: null },
      data: { replayedAt: new Date() },
    });
    return count > 0;
  }

  async purgeBefore(cutoff: Date): Promise<number> {
    const { count } = await this.prisma.deadLetter.deleteMany({ where: { createdAt: { lt: cutoff } } });
    return count;
  }
}
