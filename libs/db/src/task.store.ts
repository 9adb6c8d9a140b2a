import { newId } from '@baton/core';
import {
  toTaskView,
  type DeadLetterInfo,
  type NewTask,
  type TaskError,
  type TaskLogLine,
  type TaskRecord,
  type TaskStore,
} from '@baton/tasks';
import { Prisma, isUniqueViolation, type PrismaClient } from './prisma';

// Columns of a TaskRecord, for raw statements that RETURNING a task.
const TASK_COLUMNS =
  Prisma.raw(`id, tenant_id AS "tenantId", handler, payload, status::text AS status, progress, result,
  last_error AS "lastError", attempts, max_attempts AS "maxAttempts", priority, run_at AS "runAt", timeout_ms AS "timeoutMs",
  deadline_at AS "deadlineAt", dedupe_key AS "dedupeKey", notify, request_id AS "requestId", created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt"`);

const json = (value: unknown): string => JSON.stringify(value ?? null);

/** The completion event of a task, written in the same statement as the transition that ends it. */
function completionEvent(task: TaskRecord): Prisma.Sql {
  return Prisma.sql`INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
    SELECT ${newId('notification')}, ${task.tenantId}, 'task.completed', 'task', ${task.id}, ${`task.completed:${task.id}`},
           ${json(toTaskView(task))}::jsonb
    FROM changed ON CONFLICT (dedup_key) DO NOTHING`;
}

export class PrismaTaskStore implements TaskStore {
  constructor(private readonly prisma: PrismaClient) {}

  async create(task: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
    try {
      const row = await this.prisma.task.create({
        data: {
          ...task,
          payload: task.payload === null ? Prisma.JsonNull : (task.payload as Prisma.InputJsonValue),
          notify: task.notify === null ? Prisma.JsonNull : (task.notify as Prisma.InputJsonValue),
        },
      });
      return { task: row, created: true };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await this.prisma.task.findFirst({
        where: task.dedupeKey
          ? { OR: [{ id: task.id }, { tenantId: task.tenantId, dedupeKey: task.dedupeKey }] }
          : { id: task.id },
      });
      if (!existing) throw error;
      return { task: existing, created: false };
    }
  }

  async find(id: string, tenantId: string | null): Promise<TaskRecord | null> {
    const row = await this.prisma.task.findUnique({ where: { id } });
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
        WHERE id = ${id} AND status IN ('queued', 'running') RETURNING id
      ), event AS (${completionEvent(finished)})
      SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ${id}`;
    // The SELECT sees the row as it was before this statement; read again when we changed it.
    return (await this.find(id, tenantId)) ?? rows[0] ?? null;
  }

  async start(id: string): Promise<TaskRecord | null> {
    const rows = await this.prisma.$queryRaw<TaskRecord[]>`
      UPDATE tasks SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, now()),
                       heartbeat_at = now()
      WHERE id = ${id} AND status IN ('queued', 'running') RETURNING ${TASK_COLUMNS}`;
    return rows[0] ?? null;
  }

  async progress(id: string, percent: number): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE tasks SET progress = ${percent}, heartbeat_at = now() WHERE id = ${id} AND status = 'running'`;
  }

  async succeed(task: TaskRecord, result: unknown): Promise<boolean> {
    const id = task.id;
    const done: TaskRecord = { ...task, status: 'succeeded', progress: 100, result, finishedAt: new Date() };
    const changed = await this.prisma.$executeRaw`
      WITH changed AS (
        UPDATE tasks SET status = 'succeeded', progress = 100, result = ${json(result)}::jsonb, finished_at = ${done.finishedAt}
        WHERE id = ${id} AND status = 'running' RETURNING id
      ) ${completionEvent(done)}`;
    return changed > 0;
  }

  async retrying(id: string, error: TaskError): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE tasks SET status = 'queued', last_error = ${json(error)}::jsonb WHERE id = ${id} AND status = 'running'`;
  }

  async fail(task: TaskRecord, error: TaskError, deadLetter: DeadLetterInfo): Promise<boolean> {
    const id = task.id;
    const done: TaskRecord = { ...task, status: 'failed', lastError: error, finishedAt: new Date() };
    const changed = await this.prisma.$executeRaw`
      WITH changed AS (
        UPDATE tasks SET status = 'failed', last_error = ${json(error)}::jsonb, finished_at = ${done.finishedAt}
        WHERE id = ${id} AND status IN ('queued', 'running') RETURNING id
      ), dead AS (
        INSERT INTO dead_letters (id, tenant_id, kind, subject_id, queue, job_name, data, error, attempts)
        SELECT ${newId('deadLetter')}, ${task.tenantId}, 'task', ${id}, ${deadLetter.queue}, ${deadLetter.jobName},
               ${json(deadLetter.data)}::jsonb, ${json(error)}::jsonb, ${task.attempts}
        FROM changed ON CONFLICT (kind, subject_id, attempts) DO NOTHING
      ) ${completionEvent(done)}`;
    return changed > 0;
  }

  async pending(cutoff: Date, afterId: string | undefined, limit: number): Promise<TaskRecord[]> {
    return this.prisma.$queryRaw<TaskRecord[]>`
      SELECT ${TASK_COLUMNS} FROM tasks
      WHERE status IN ('queued', 'running') AND created_at < ${cutoff} AND id > ${afterId ?? ''}
      ORDER BY id LIMIT ${limit}`;
  }
}
