import type { Pool } from 'pg';
import { Coalescer, newId } from '@baton/core';
import {
  taskCompletionKey,
  toTaskView,
  type Attempt,
  type DeadLetterInfo,
  type NewTask,
  type TaskError,
  type TaskLogLine,
  type TaskRecord,
  type TaskStore,
} from '@baton/tasks';
import { hasAudience } from './notification.sql';
import { Prisma, type PrismaClient } from './prisma';
import {
  claimTasks,
  finalRow,
  findTask,
  insertTasks,
  succeedTasks,
  TASK_COLUMNS as COLUMNS,
  type Statements,
  type Success,
} from './task.batches';

const TASK_COLUMNS = Prisma.raw(COLUMNS);
/** Hot-path statements are merged across concurrent requests and jobs (see Coalescer): one round trip for many. */
const BATCHING = { maxBatch: 500, maxConcurrent: 1 };

const json = (value: unknown): string => JSON.stringify(value ?? null);

/** Whether the task row in the `changed` CTE (columns `"tenantId"` and `notify`) has anyone to tell. */
const TASK_EVENT_AUDIENCE = Prisma.raw(hasAudience('changed.notify', 'changed."tenantId"', 'task.completed'));

/**
 * The completion event of a task, written in the same statement as the transition that ends it, where it has an
 * audience (see hasAudience).
 */
function completionEvent(task: TaskRecord): Prisma.Sql {
  return Prisma.sql`INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
    SELECT ${newId('notification')}, ${task.tenantId}, 'task.completed', 'task', ${task.id}, ${taskCompletionKey(task)},
           ${json(toTaskView(task))}::jsonb
    FROM changed WHERE ${TASK_EVENT_AUDIENCE} ON CONFLICT (dedup_key) DO NOTHING`;
}

export class PrismaTaskStore implements TaskStore {
  private readonly inserts: Coalescer<NewTask, TaskRecord | undefined>;
  private readonly claims: Coalescer<string, TaskRecord | null>;
  private readonly successes: Coalescer<Success, boolean>;

  /**
   * Where claims, successes and the reconciler's re-read of suspect tasks (the claim's statement) run: Database.hot,
   * named, where there is one (see claimTasks).
   */
  private readonly hot: Statements;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    hot?: Pool,
  ) {
    this.hot = { db: hot ?? pool, prepared: !!hot };
    this.inserts = new Coalescer(async (tasks) => {
      const inserted = await insertTasks(pool, tasks);
      return tasks.map((t) => inserted.get(t.id));
    }, BATCHING);
    this.claims = new Coalescer(async (ids) => {
      const claimed = await claimTasks(this.hot, [...new Set(ids)]);
      return ids.map((id) => claimed.get(id) ?? null);
    }, BATCHING);
    this.successes = new Coalescer(async (items) => {
      const changed = await succeedTasks(this.hot, items);
      return items.map((s) => changed.has(s.attempt.task.id));
    }, BATCHING);
  }

  async create(task: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    const inserted = await this.inserts.submit(task);
    if (inserted) return { task: inserted, created: true };
    // Skipped on conflict: the same id (a retried request) or the same dedupeKey already exists.
    const existing = await this.prisma.task.findFirst({
      where: task.dedupeKey
        ? { OR: [{ id: task.id }, { tenantId: task.tenantId, dedupeKey: task.dedupeKey }] }
        : { id: task.id },
    });
    if (!existing) throw new Error(`task ${task.id} was neither inserted nor found`);
    return { task: existing, created: false };
  }

  async find(id: string, tenantId: string | null): Promise<TaskRecord | null> {
    const row = await findTask(this.pool, id);
    return row && (tenantId === null || row.tenantId === tenantId) ? row : null;
  }

  async logs(id: string, afterId: string | undefined, limit: number): Promise<TaskLogLine[]> {
    const rows = await this.prisma.taskLog.findMany({
      where: { taskId: id, ...(afterId ? { id: { gt: BigInt(afterId) } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map((r) => ({ id: r.id.toString(), at: r.at, level: r.level, message: r.message }));
  }

  async appendLog(id: string, level: string, message: string): Promise<void> {
    await this.prisma.taskLog.create({ data: { taskId: id, level, message: message.slice(0, 4000) } });
  }

  async cancel(id: string, tenantId: string | null): Promise<TaskRecord | null> {
    const current = await this.find(id, tenantId);
    if (!current || current.status === 'succeeded' || current.status === 'failed' || current.status === 'cancelled') {
      return current;
    }
    const finished: TaskRecord = { ...current, status: 'cancelled', finishedAt: new Date() };
    const rows = await this.prisma.$queryRaw<TaskRecord[]>`
      WITH changed AS (
        UPDATE tasks SET status = 'cancelled', finished_at = ${finished.finishedAt}
        WHERE id = ${id} AND status IN ('queued', 'running') RETURNING ${TASK_COLUMNS}
      ), event AS (${completionEvent(finished)})
      SELECT * FROM changed`;
    // Nothing changed: the task ended between our read and the update; its final state is the answer.
    return rows[0] ?? this.find(id, tenantId);
  }

  claim(id: string): Promise<TaskRecord | null> {
    return this.claims.submit(id);
  }

  async markRunning({ task, number, startedAt }: Attempt): Promise<boolean> {
    const changed = await this.prisma.$executeRaw`
      UPDATE tasks SET status = 'running', attempts = ${number}, started_at = COALESCE(started_at, ${startedAt}),
                       heartbeat_at = now()
      WHERE id = ${task.id} AND status IN ('queued', 'running')`;
    return changed > 0;
  }

  async progress(id: string, percent: number): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE tasks SET progress = ${percent}, heartbeat_at = now() WHERE id = ${id} AND status = 'running'`;
  }

  async heartbeat(id: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE tasks SET heartbeat_at = now() WHERE id = ${id} AND status = 'running'`;
  }

  succeed(attempt: Attempt, result: unknown): Promise<boolean> {
    return this.successes.submit({ attempt, result });
  }

  async retrying({ task, number, startedAt }: Attempt, error: TaskError): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE tasks SET status = 'queued', last_error = ${json(error)}::jsonb, attempts = ${number},
                       started_at = COALESCE(started_at, ${startedAt})
      WHERE id = ${task.id} AND status IN ('queued', 'running')`;
  }

  async fail(attempt: Attempt, error: TaskError, deadLetter: DeadLetterInfo): Promise<boolean> {
    const row = finalRow(attempt);
    const done: TaskRecord = { ...row, status: 'failed', lastError: error, finishedAt: new Date() };
    const changed = await this.prisma.$queryRaw<{ id: string }[]>`
      WITH changed AS (
        UPDATE tasks SET status = 'failed', last_error = ${json(error)}::jsonb, finished_at = ${done.finishedAt},
                         attempts = ${row.attempts}, started_at = ${row.startedAt}
        WHERE id = ${row.id} AND status IN ('queued', 'running') RETURNING id, tenant_id AS "tenantId", notify
      ), dead AS (
        INSERT INTO dead_letters (id, tenant_id, kind, subject_id, queue, job_name, data, error, attempts)
        SELECT ${newId('deadLetter')}, ${row.tenantId}, 'task', ${row.id}, ${deadLetter.queue}, ${deadLetter.jobName},
               ${json(deadLetter.data)}::jsonb, ${json(error)}::jsonb, ${row.attempts}
        FROM changed ON CONFLICT (kind, subject_id, attempts) DO NOTHING
      ), event AS (${completionEvent(done)})
      SELECT id FROM changed`;
    return changed.length > 0;
  }

  async reopen(id: string): Promise<TaskRecord | null> {
    const rows = await this.prisma.$queryRaw<TaskRecord[]>`
      UPDATE tasks SET status = 'queued', generation = generation + 1, progress = 0, result = NULL, finished_at = NULL
      WHERE id = ${id} AND status = 'failed' RETURNING ${TASK_COLUMNS}`;
    return rows[0] ?? null;
  }

  history(
    filter: { status?: string; tenantId?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<TaskRecord[]> {
    const where = [Prisma.sql`TRUE`];
    if (filter.status) where.push(Prisma.sql`status = ${filter.status}::"WorkStatus"`);
    if (filter.tenantId) where.push(Prisma.sql`tenant_id = ${filter.tenantId}`);
    if (beforeId) where.push(Prisma.sql`id < ${beforeId}`);
    return this.prisma.$queryRaw<TaskRecord[]>`
      SELECT ${TASK_COLUMNS} FROM tasks WHERE ${Prisma.join(where, ' AND ')} ORDER BY id DESC LIMIT ${limit}`;
  }

  async purgeFinished(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM tasks WHERE id IN (
        SELECT id FROM tasks WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < ${cutoff} LIMIT ${limit})`;
  }

  async pendingIds(cutoff: Date, afterId: string | undefined, limit: number): Promise<string[]> {
    // Ids only, on the (status, id) index: the scan reads every pending task each pass, and a backlog can be large.
    const { rows } = await this.pool.query<{ id: string }>({
      name: 'baton_pending_task_ids',
      text: `SELECT id FROM tasks WHERE status IN ('queued', 'running') AND created_at < $1 AND id > $2
             ORDER BY id LIMIT $3`,
      values: [cutoff, afterId ?? '', limit],
    });
    return rows.map((r) => r.id);
  }

  async stillPending(ids: string[]): Promise<TaskRecord[]> {
    return ids.length === 0 ? [] : [...(await claimTasks(this.hot, ids)).values()];
  }
}
