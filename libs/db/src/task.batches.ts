import type { Pool, PoolClient } from 'pg';
import { newId, withChanges } from '@baton/core';
import type { Attempt, NewTask, TaskRecord } from '@baton/tasks';
import { hasAudience } from './notification.sql';

/** Columns of a TaskRecord, for statements that return tasks. */
export const TASK_COLUMNS = `id, tenant_id AS "tenantId", handler, payload, status::text AS status, progress, result,
  last_error AS "lastError", attempts, max_attempts AS "maxAttempts", generation, priority, run_at AS "runAt",
  timeout_ms AS "timeoutMs", deadline_at AS "deadlineAt", dedupe_key AS "dedupeKey", notify, request_id AS "requestId",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/**
 * Inserts many tasks in one statement (one round trip, one commit). Rows that collide with an existing id or
 * (tenant, dedupeKey) are skipped; the caller looks those up. Returns the inserted rows by id.
 */
export async function insertTasks(pool: Pool, tasks: NewTask[]): Promise<Map<string, TaskRecord>> {
  // The batch travels as one JSON document (native JSON.stringify, one parameter) rather than a dozen arrays that
  // node-pg would escape element by element. Only what the database decides comes back.
  const { rows } = await pool.query<{ id: string; createdAt: Date }>({
    // Named: each connection parses and plans it once, then reuses the plan.
    name: 'baton_insert_tasks',
    text: `INSERT INTO tasks (id, tenant_id, handler, payload, max_attempts, priority, run_at, timeout_ms, deadline_at,
                        dedupe_key, notify, request_id)
     SELECT id, tenant_id, handler, payload, max_attempts, priority, run_at, timeout_ms, deadline_at, dedupe_key,
            notify, request_id
     FROM json_to_recordset($1::json) AS t(id text, tenant_id text, handler text, payload jsonb, max_attempts int,
          priority int, run_at timestamptz, timeout_ms int, deadline_at timestamptz, dedupe_key text, notify jsonb,
          request_id text)
     ON CONFLICT DO NOTHING RETURNING id, created_at AS "createdAt"`,
    values: [
      JSON.stringify(
        tasks.map((t) => ({
          id: t.id,
          tenant_id: t.tenantId,
          handler: t.handler,
          payload: t.payload,
          max_attempts: t.maxAttempts,
          priority: t.priority,
          run_at: t.runAt,
          timeout_ms: t.timeoutMs,
          deadline_at: t.deadlineAt,
          dedupe_key: t.dedupeKey,
          notify: t.notify,
          request_id: t.requestId,
        })),
      ),
    ],
  });
  const byId = new Map(tasks.map((t) => [t.id, t]));
  return new Map(rows.map((r) => [r.id, newTaskRecord(byId.get(r.id)!, r.createdAt)]));
}

/** A task as it stands right after its insert (fields listed, not spread: this runs for every created task). */
const newTaskRecord = (t: NewTask, createdAt: Date): TaskRecord => ({
  id: t.id,
  tenantId: t.tenantId,
  handler: t.handler,
  payload: t.payload,
  status: 'queued',
  progress: 0,
  result: null,
  lastError: null,
  attempts: 0,
  maxAttempts: t.maxAttempts,
  generation: 0,
  priority: t.priority,
  runAt: t.runAt,
  timeoutMs: t.timeoutMs,
  deadlineAt: t.deadlineAt,
  dedupeKey: t.dedupeKey,
  notify: t.notify,
  requestId: t.requestId,
  createdAt,
  startedAt: null,
  finishedAt: null,
});

/** One task by id: the status read, the most frequent query of all, prepared once per connection. */
export async function findTask(pool: Pool, id: string): Promise<TaskRecord | null> {
  const { rows } = await pool.query<TaskRecord>({
    name: 'baton_find_task',
    text: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}

/** Where a batch statement runs: the shared pool (unnamed), or Database.hot or one of its connections (named). */
export interface Statements {
  db: Pool | PoolClient;
  prepared: boolean;
}

/**
 * The tasks among `ids` that may still run (queued or running), for many job starts at once.
 *
 * On the shared pool it is unnamed, as every statement that takes a list of ids: a named (prepared) statement gets a
 * generic plan after five runs, made for the table as it was then. On a table just created and filling, that was a
 * sequential scan, kept as the table grew: the success statement scanned all 20,000 rows of the tasks bench for each
 * batch of 32 (5.5 ms a call, against 2.0 planned for the ids). (Planning every statement afresh, plan_cache_mode =
 * force_custom_plan, was measured too: it replans the foreign-key check of every inserted row, and doubled the time
 * to accept a batch of 100,000 items.) On the hot connections, whose sessions turn sequential scans off
 * (HOT_SETTINGS), it is named and planned once.
 */
export async function claimTasks(to: Statements, ids: string[]): Promise<Map<string, TaskRecord>> {
  const { rows } = await to.db.query<TaskRecord>({
    name: to.prepared ? 'baton_claim_tasks' : undefined,
    // The status test is on text, as in succeedTasks: on the enum, the planner took the (status, ...) indexes too and
    // ANDed their bitmap with the primary key's, reading every pending task's entry for each claim (measured on 40,000
    // queued tasks, 32 ids a call: 23-30 µs of backend CPU per task, against 5-7 on the primary key alone).
    text: `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ANY($1::text[]) AND status::text IN ('queued', 'running')`,
    values: [ids],
  });
  return new Map(rows.map((r) => [r.id, r]));
}

export interface Success {
  attempt: Attempt;
  result: unknown;
}

const TASK_EVENT_AUDIENCE = hasAudience('c.notify', 'c.tenant_id', 'task.completed');

/** An instant as toISOString() writes it (the columns hold milliseconds, as a Date does). */
const isoSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * toTaskView (libs/tasks) in SQL, as jsonb, for a row of tasks under the alias `t`: the payload of a task's events,
 * built in Postgres from the row the statement has just written, and only for the rows whose event is written. Keys
 * whose value is null are left out, as toTaskView leaves out what is undefined (a payload or result of JSON null
 * included; nulls inside them stay). A test keeps the two equal (test/task-view.e2e.ts).
 */
export function taskViewSql(t: string): string {
  return `(SELECT jsonb_object_agg(key, value) FROM jsonb_each(jsonb_build_object(
    'id', ${t}.id, 'handler', ${t}.handler, 'status', ${t}.status::text, 'progress', ${t}.progress,
    'payload', ${t}.payload, 'result', ${t}.result, 'lastError', ${t}.last_error, 'attempts', ${t}.attempts,
    'maxAttempts', ${t}.max_attempts, 'priority', ${t}.priority, 'createdAt', ${isoSql(`${t}.created_at`)},
    'runAt', ${isoSql(`${t}.run_at`)}, 'startedAt', ${isoSql(`${t}.started_at`)},
    'finishedAt', ${isoSql(`${t}.finished_at`)}, 'deadlineAt', ${isoSql(`${t}.deadline_at`)},
    'dedupeKey', ${t}.dedupe_key)) WHERE value <> 'null'::jsonb)`;
}

/** taskCompletionKey (libs/tasks) in SQL, for a row of tasks under the alias `t`. */
export const taskCompletionKeySql = (t: string): string => `'task.completed:' || ${t}.id || ':' || ${t}.generation`;

/**
 * queued|running → succeeded for many tasks, each with its attempt and completion event (where the event has an
 * audience: see hasAudience), in one statement. Returns the ids that changed: a task that ended meanwhile (cancelled,
 * finished by another run) is left as it is, with no event.
 *
 * The event's payload is made in Postgres from the updated row (taskViewSql), for the tasks that have an audience
 * only. Most have none: the batch used to carry every task's view (some 700 bytes each, built, serialized and parsed
 * as json by Postgres), which no statement read.
 */
export async function succeedTasks(to: Statements, successes: Success[]): Promise<Set<string>> {
  // The rows are found by primary key (id = ANY(...)); the status test is on text, so the planner cannot take the
  // (status, ...) indexes instead: on a table just filled (statistics not yet analysed) it would, and scan every
  // pending task for each statement. See PENDING_BY_ID in batch.store.ts.
  const { rows } = await to.db.query<{ id: string }>({
    // Named on the hot connections only (see claimTasks).
    name: to.prepared ? 'baton_succeed_tasks' : undefined,
    text: `WITH v AS (
       SELECT * FROM json_to_recordset($1::json) AS v(id text, result jsonb, event_id text, attempts int,
                                                      started_at timestamptz)
     ), changed AS (
       UPDATE tasks t SET status = 'succeeded', progress = 100, result = v.result, finished_at = $2,
                          attempts = v.attempts, started_at = COALESCE(t.started_at, v.started_at)
       FROM v WHERE t.id = v.id AND t.id = ANY(ARRAY(SELECT id FROM v)) AND t.status::text IN ('queued', 'running')
       RETURNING t.*
     ), events AS (
       INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
       SELECT v.event_id, c.tenant_id, 'task.completed', 'task', c.id, ${taskCompletionKeySql('c')}, ${taskViewSql('c')}
       FROM changed c JOIN v ON v.id = c.id
       WHERE ${TASK_EVENT_AUDIENCE}
       ON CONFLICT (dedup_key) DO NOTHING
     )
     SELECT id FROM changed`,
    values: [
      JSON.stringify(
        successes.map(({ attempt, result }) => ({
          id: attempt.task.id,
          result: result ?? null,
          event_id: newId('notification'),
          attempts: attempt.number,
          started_at: attempt.startedAt,
        })),
      ),
      new Date(),
    ],
  });
  return new Set(rows.map((r) => r.id));
}

/** The row as this attempt leaves it, before its final status is applied. */
export const finalRow = ({ task, number, startedAt }: Attempt): TaskRecord =>
  withChanges(task, { attempts: number, startedAt: task.startedAt ?? startedAt });
