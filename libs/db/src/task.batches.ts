import type { Pool } from 'pg';
import { newId } from '@baton/core';
import { toTaskView, type Attempt, type NewTask, type TaskRecord } from '@baton/tasks';

/** Columns of a TaskRecord, for statements that return tasks. */
export const TASK_COLUMNS = `id, tenant_id AS "tenantId", handler, payload, status::text AS status, progress, result,
  last_error AS "lastError", attempts, max_attempts AS "maxAttempts", priority, run_at AS "runAt",
  timeout_ms AS "timeoutMs", deadline_at AS "deadlineAt", dedupe_key AS "dedupeKey", notify, request_id AS "requestId",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

const json = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * Inserts many tasks in one statement (one round trip, one commit). Rows that collide with an existing id or
 * (tenant, dedupeKey) are skipped; the caller looks those up. Returns the inserted rows by id.
 */
export async function insertTasks(pool: Pool, tasks: NewTask[]): Promise<Map<string, TaskRecord>> {
  // Only what the database decides comes back; the rest of the record is what we sent.
  const { rows } = await pool.query<{ id: string; createdAt: Date }>(
    `INSERT INTO tasks (id, tenant_id, handler, payload, max_attempts, priority, run_at, timeout_ms, deadline_at,
                        dedupe_key, notify, request_id)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::int[], $6::int[], $7::timestamptz[],
                          $8::int[], $9::timestamptz[], $10::text[], $11::jsonb[], $12::text[])
     ON CONFLICT DO NOTHING RETURNING id, created_at AS "createdAt"`,
    [
      tasks.map((t) => t.id),
      tasks.map((t) => t.tenantId),
      tasks.map((t) => t.handler),
      tasks.map((t) => (t.payload === null ? null : json(t.payload))),
      tasks.map((t) => t.maxAttempts),
      tasks.map((t) => t.priority),
      tasks.map((t) => t.runAt),
      tasks.map((t) => t.timeoutMs),
      tasks.map((t) => t.deadlineAt),
      tasks.map((t) => t.dedupeKey),
      tasks.map((t) => (t.notify === null ? null : json(t.notify))),
      tasks.map((t) => t.requestId),
    ],
  );
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return new Map(rows.map((r) => [r.id, newTaskRecord(byId.get(r.id)!, r.createdAt)]));
}

/** A task as it stands right after its insert. */
const newTaskRecord = (t: NewTask, createdAt: Date): TaskRecord => ({
  ...t,
  status: 'queued',
  progress: 0,
  result: null,
  lastError: null,
  attempts: 0,
  createdAt,
  startedAt: null,
  finishedAt: null,
});

/** The tasks among `ids` that may still run (queued or running), for many job starts at once. */
export async function claimTasks(pool: Pool, ids: string[]): Promise<Map<string, TaskRecord>> {
  const { rows } = await pool.query<TaskRecord>(
    `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::text[]) AND status IN ('queued', 'running')`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

export interface Success {
  attempt: Attempt;
  result: unknown;
}

/**
 * queued|running → succeeded for many tasks, each with its attempt and completion event, in one statement. Returns the
 * ids that changed: a task that ended meanwhile (cancelled, finished by another run) is left as it is, with no event.
 */
export async function succeedTasks(pool: Pool, successes: Success[]): Promise<Set<string>> {
  const finishedAt = new Date();
  const views = successes.map(({ attempt, result }) =>
    json(toTaskView({ ...finalRow(attempt), status: 'succeeded', progress: 100, result, finishedAt })),
  );
  const { rows } = await pool.query<{ id: string }>(
    `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::jsonb[], $5::int[], $6::timestamptz[])
         AS v(id, result, event_id, view, attempts, started_at)
     ), changed AS (
       UPDATE tasks t SET status = 'succeeded', progress = 100, result = v.result, finished_at = $7,
                          attempts = v.attempts, started_at = COALESCE(t.started_at, v.started_at)
       FROM v WHERE t.id = v.id AND t.status IN ('queued', 'running') RETURNING t.id, t.tenant_id
     )
     INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
     SELECT v.event_id, c.tenant_id, 'task.completed', 'task', c.id, 'task.completed:' || c.id, v.view
     FROM changed c JOIN v ON v.id = c.id
     ON CONFLICT (dedup_key) DO NOTHING RETURNING subject_id AS id`,
    [
      successes.map((s) => s.attempt.task.id),
      successes.map((s) => json(s.result)),
      successes.map(() => newId('notification')),
      views,
      successes.map((s) => s.attempt.number),
      successes.map((s) => s.attempt.startedAt),
      finishedAt,
    ],
  );
  return new Set(rows.map((r) => r.id));
}

/** The row as this attempt leaves it, before its final status is applied. */
export const finalRow = ({ task, number, startedAt }: Attempt): TaskRecord => ({
  ...task,
  attempts: number,
  startedAt: task.startedAt ?? startedAt,
});
