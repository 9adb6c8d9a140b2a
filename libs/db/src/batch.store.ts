import type { Pool } from 'pg';
import {
  batchCompletionKey,
  batchStatus,
  toBatchView,
  type BatchJobRecord,
  type BatchRecord,
  type BatchStore,
  type FinalItemStatus,
  type ItemContext,
  type JobError,
  type NewBatch,
  type RollupResult,
} from '@baton/batches';
import { Coalescer, newId, type Counts } from '@baton/core';
import { inTransaction, retryDeadlock } from './pg-transaction';

const BATCH_COLUMNS = `id, tenant_id AS "tenantId", name, status::text AS status, outcome::text AS outcome, priority,
  policy, dedupe, notify, total, queued, running, succeeded, failed, cancelled, generation,
  cancel_requested_at AS "cancelRequestedAt", fed_at AS "fedAt", created_at AS "createdAt", started_at AS "startedAt",
  finished_at AS "finishedAt"`;

const JOB_COLUMNS = `j.id, j.batch_id AS "batchId", j.tenant_id AS "tenantId", j.index, j.params, j.status::text AS status,
  j.cluster_status AS "clusterStatus", j.cluster_job_id AS "clusterJobId", j.attempts, j.generation,
  j.cancel_requested AS "cancelRequested", j.last_error AS "lastError", j.submitted_at AS "submittedAt",
  j.started_at AS "startedAt", j.finished_at AS "finishedAt"`;

type BatchRow = Omit<BatchRecord, 'counts'> & Counts;

const toBatch = ({ total, queued, running, succeeded, failed, cancelled, ...rest }: BatchRow): BatchRecord => ({
  ...rest,
  counts: { total, queued, running, succeeded, failed, cancelled },
});

/** Hot-path statements are merged across concurrent item steps (see Coalescer): one round trip for many. */
const BATCHING = { maxBatch: 500, maxConcurrent: 2 };
/** Failed jobs listed in a completion event (for emails and webhooks); the API lists all of them. */
const FAILED_IN_EVENT = 20;

interface Finish {
  id: string;
  status: FinalItemStatus;
  error: JobError | null;
}
interface Submitted {
  id: string;
  attempt: number;
  clusterJobId: string;
  at: Date;
}

/**
 * The counter shift of a set of job transitions, in the same statement as the transitions: `moved` yields
 * (batch_id, old status, new status) per changed job; the batches' counters move by the totals. Batches are locked
 * in id order first, so merged statements never deadlock on each other's batch rows.
 */
const SHIFT_COUNTERS = `
  shift AS (
    SELECT batch_id,
      count(*) FILTER (WHERE old = 'queued') AS from_queued, count(*) FILTER (WHERE old = 'running') AS from_running,
      count(*) FILTER (WHERE new = 'queued') AS to_queued, count(*) FILTER (WHERE new = 'running') AS to_running,
      count(*) FILTER (WHERE new = 'succeeded') AS to_succeeded, count(*) FILTER (WHERE new = 'failed') AS to_failed,
      count(*) FILTER (WHERE new = 'cancelled') AS to_cancelled
    FROM moved GROUP BY batch_id
  ), counted AS (
    UPDATE batches b SET
      queued = b.queued - s.from_queued + s.to_queued,
      running = b.running - s.from_running + s.to_running,
      succeeded = b.succeeded + s.to_succeeded,
      failed = b.failed + s.to_failed,
      cancelled = b.cancelled + s.to_cancelled,
      status = CASE WHEN b.status = 'queued' AND s.to_running > 0 THEN 'running'::"WorkStatus" ELSE b.status END,
      started_at = CASE WHEN s.to_running > 0 THEN COALESCE(b.started_at, now()) ELSE b.started_at END
    FROM shift s WHERE b.id = s.batch_id RETURNING b.id
  )`;

/**
 * The jobs named in `v`, still queued or running, locked in id order (the `o` step of an item transition). They are
 * looked up by primary key (`id = ANY(...)`), and the status test is on text so that no (status, ...) index can be
 * used instead. Measured: with `JOIN v ... WHERE status IN (...)`, a batch just inserted (its statistics not yet
 * analysed, so "pending" looks rare) was planned as a scan of every pending job of the table and a hash join, for
 * every statement: about 1,650 buffers and 9 ms for 20 items at 20,000 pending, 80% of Postgres' time in the batches
 * benchmark. By key it is a few buffers per item.
 */
const PENDING_BY_ID = `SELECT j.id, j.status::text AS old FROM batch_jobs j
  WHERE j.id = ANY(ARRAY(SELECT id FROM v)) AND j.status::text IN ('queued', 'running') ORDER BY j.id FOR UPDATE OF j`;

export class PgBatchStore implements BatchStore {
  private readonly loads: Coalescer<string, ItemContext | null>;
  private readonly finishes: Coalescer<Finish, boolean>;
  private readonly submits: Coalescer<Submitted, void>;

  constructor(private readonly pool: Pool) {
    this.loads = new Coalescer((ids) => this.loadItems(ids), BATCHING);
    this.finishes = new Coalescer((items) => retryDeadlock(() => this.finishMany(items)), BATCHING);
    this.submits = new Coalescer<Submitted, void>(async (items) => {
      await retryDeadlock(() => this.submitMany(items));
      return items.map(() => undefined);
    }, BATCHING);
  }

  async create(batch: NewBatch): Promise<{ batch: BatchRecord; created: boolean }> {
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<BatchRow>(
        `INSERT INTO batches (id, tenant_id, name, priority, policy, dedupe, notify, total, queued)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING RETURNING ${BATCH_COLUMNS}`,
        [
          batch.id,
          batch.tenantId,
          batch.name,
          batch.priority,
          JSON.stringify(batch.policy),
          batch.dedupe,
          batch.notify === null ? null : JSON.stringify(batch.notify),
          batch.jobs.length,
        ],
      );
      if (rows.length === 0) {
        const existing = await this.find(batch.id, batch.tenantId);
        if (!existing) throw new Error(`batch ${batch.id} exists under another tenant`);
        return { batch: existing, created: false };
      }
      // One statement per 25,000 jobs: the whole set travels as JSON, parsed by Postgres, not escaped per value.
      for (let i = 0; i < batch.jobs.length; i += 25_000) {
        await db.query(
          `INSERT INTO batch_jobs (id, batch_id, tenant_id, index, params)
           SELECT j.id, $2, $3, j.index, j.params FROM json_to_recordset($1::json) AS j(id text, index int, params jsonb)`,
          [JSON.stringify(batch.jobs.slice(i, i + 25_000)), batch.id, batch.tenantId],
        );
      }
      return { batch: toBatch(rows[0]), created: true };
    });
  }

  async find(id: string, tenantId: string | null): Promise<BatchRecord | null> {
    const { rows } = await this.pool.query<BatchRow>({
      name: 'baton_find_batch',
      text: `SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      values: [id, tenantId],
    });
    return rows[0] ? toBatch(rows[0]) : null;
  }

  async findMany(ids: string[]): Promise<BatchRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<BatchRow>(
      `SELECT ${BATCH_COLUMNS} FROM batches WHERE id = ANY($1::text[])`,
      [ids],
    );
    return rows.map(toBatch);
  }

  async jobs(
    batchId: string,
    status: string | undefined,
    afterIndex: number,
    limit: number,
  ): Promise<BatchJobRecord[]> {
    const { rows } = await this.pool.query<BatchJobRecord>(
      `SELECT ${JOB_COLUMNS} FROM batch_jobs j
       WHERE j.batch_id = $1 AND ($2::text IS NULL OR j.status = $2::"WorkStatus") AND j.index > $3
       ORDER BY j.index LIMIT $4`,
      [batchId, status ?? null, afterIndex, limit],
    );
    return rows;
  }

  async findJob(batchId: string, jobId: string): Promise<BatchJobRecord | null> {
    const { rows } = await this.pool.query<BatchJobRecord>(
      `SELECT ${JOB_COLUMNS} FROM batch_jobs j WHERE j.id = $1 AND j.batch_id = $2`,
      [jobId, batchId],
    );
    return rows[0] ?? null;
  }

  async feedPage(batchId: string, generation: number, afterIndex: number, limit: number) {
    const { rows } = await this.pool.query<{ id: string; index: number }>(
      `SELECT id, index FROM batch_jobs
       WHERE batch_id = $1 AND generation = $2 AND status IN ('queued', 'running') AND index > $3
       ORDER BY index LIMIT $4`,
      [batchId, generation, afterIndex, limit],
    );
    return rows;
  }

  async markFed(batchId: string, generation: number): Promise<void> {
    await this.pool.query(`UPDATE batches SET fed_at = now() WHERE id = $1 AND generation = $2`, [batchId, generation]);
  }

  loadItem(jobId: string): Promise<ItemContext | null> {
    return this.loads.submit(jobId);
  }

  markSubmitted(jobId: string, attempt: number, clusterJobId: string, at: Date): Promise<void> {
    return this.submits.submit({ id: jobId, attempt, clusterJobId, at });
  }

  async markClusterRunning(jobId: string, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE batch_jobs SET started_at = COALESCE(started_at, $2), cluster_status = 'RUNNING'
       WHERE id = $1 AND status = 'running'`,
      [jobId, at],
    );
  }

  async markRunFailed(jobId: string, error: JobError): Promise<void> {
    await this.pool.query(
      `UPDATE batch_jobs SET cluster_job_id = NULL, cluster_status = NULL, started_at = NULL, last_error = $2
       WHERE id = $1 AND status = 'running'`,
      [jobId, JSON.stringify(error)],
    );
  }

  finish(jobId: string, status: FinalItemStatus, error: JobError | null): Promise<boolean> {
    return this.finishes.submit({ id: jobId, status, error });
  }

  async requestCancel(batchId: string, tenantId: string | null) {
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<BatchRow>(
        `UPDATE batches SET cancel_requested_at = COALESCE(cancel_requested_at, now())
         WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) RETURNING ${BATCH_COLUMNS}`,
        [batchId, tenantId],
      );
      if (!rows[0]) return null;
      if (rows[0].outcome !== null) return { batch: toBatch(rows[0]), running: [] };
      await db.query(
        `WITH moved AS (
           UPDATE batch_jobs j SET status = 'cancelled', finished_at = now()
           WHERE j.batch_id = $1 AND j.status = 'queued' RETURNING j.batch_id, 'queued'::text AS old, 'cancelled'::text AS new
         ), ${SHIFT_COUNTERS} SELECT count(*) FROM counted`,
        [batchId],
      );
      const running = await db.query<{ id: string }>(
        `SELECT id FROM batch_jobs WHERE batch_id = $1 AND status = 'running'`,
        [batchId],
      );
      const batch = await db.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1`, [batchId]);
      return { batch: toBatch(batch.rows[0]), running: running.rows.map((r) => r.id) };
    });
  }

  async requestJobCancel(batchId: string, jobId: string, tenantId: string | null): Promise<BatchJobRecord | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH target AS (
         SELECT j.id, j.status FROM batch_jobs j JOIN batches b ON b.id = j.batch_id
         WHERE j.id = $1 AND j.batch_id = $2 AND ($3::text IS NULL OR b.tenant_id = $3) FOR UPDATE OF j
       ), flagged AS (
         UPDATE batch_jobs j SET cancel_requested = true FROM target t WHERE j.id = t.id AND t.status = 'running'
         RETURNING j.id
       ), moved AS (
         UPDATE batch_jobs j SET status = 'cancelled', finished_at = now() FROM target t
         WHERE j.id = t.id AND t.status = 'queued' RETURNING j.batch_id, 'queued'::text AS old, 'cancelled'::text AS new
       ), ${SHIFT_COUNTERS}
       SELECT id FROM target`,
      [jobId, batchId, tenantId],
    );
    return rows[0] ? this.findJob(batchId, jobId) : null;
  }

  async reopenFailed(batchId: string, tenantId: string | null): Promise<BatchRecord | null> {
    return inTransaction(this.pool, async (db) => {
      const { rows } = await db.query<BatchRow>(
        `UPDATE batches SET generation = generation + 1, status = 'running', outcome = NULL, finished_at = NULL,
           fed_at = NULL, cancel_requested_at = NULL, queued = queued + failed, failed = 0
         WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) AND outcome IS NOT NULL AND failed > 0
         RETURNING ${BATCH_COLUMNS}`,
        [batchId, tenantId],
      );
      if (!rows[0]) return null;
      await db.query(
        `UPDATE batch_jobs SET status = 'queued', generation = $2, attempts = 0, cluster_job_id = NULL,
           cluster_status = NULL, cancel_requested = false, submitted_at = NULL, started_at = NULL, finished_at = NULL
         WHERE batch_id = $1 AND status = 'failed'`,
        [batchId, rows[0].generation],
      );
      return toBatch(rows[0]);
    });
  }

  async rollup(batchId: string, generation: number): Promise<RollupResult | null> {
    return inTransaction(this.pool, async (db) => {
      const locked = await db.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1 FOR UPDATE`, [
        batchId,
      ]);
      if (!locked.rows[0]) return null;
      const current = toBatch(locked.rows[0]);
      if (current.generation !== generation || current.outcome !== null) return { batch: current, completed: false };
      // Every child ended, so any job still open lost its queue job (e.g. out of retries): it fails, visibly.
      await db.query(
        `WITH moved AS (
           UPDATE batch_jobs j SET status = 'failed', finished_at = now(),
             last_error = jsonb_build_object('code', 'lost', 'message', 'the job ended in the queue without an outcome',
                                             'attempt', j.attempts, 'at', now())
           FROM (SELECT id, status::text AS old FROM batch_jobs
                 WHERE batch_id = $1 AND generation = $2 AND status IN ('queued', 'running') FOR UPDATE) o
           WHERE j.id = o.id RETURNING j.batch_id, o.old, 'failed'::text AS new
         ), ${SHIFT_COUNTERS} SELECT count(*) FROM counted`,
        [batchId, generation],
      );
      const fresh = toBatch(
        (await db.query<BatchRow>(`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1`, [batchId])).rows[0],
      );
      const { status, outcome } = batchStatus(fresh.counts, fresh.cancelRequestedAt !== null);
      const done = (
        await db.query<BatchRow>(
          `UPDATE batches SET status = $2::"WorkStatus", outcome = $3::"Outcome", finished_at = now()
           WHERE id = $1 RETURNING ${BATCH_COLUMNS}`,
          [batchId, status, outcome],
        )
      ).rows[0];
      const batch = toBatch(done);
      const failed = await db.query<{ id: string; index: number; lastError: JobError | null }>(
        `SELECT id, index, last_error AS "lastError" FROM batch_jobs
         WHERE batch_id = $1 AND status = 'failed' ORDER BY index LIMIT ${FAILED_IN_EVENT}`,
        [batchId],
      );
      await db.query(
        `INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
         VALUES ($1, $2, 'batch.completed', 'batch', $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING`,
        [
          newId('notification'),
          batch.tenantId,
          batch.id,
          batchCompletionKey(batch),
          // The batch as GET shows it (never its notify: that holds the webhook secret), plus its first failed jobs.
          JSON.stringify({ ...toBatchView(batch), failedJobs: failed.rows }),
        ],
      );
      return { batch, completed: true };
    });
  }

  async findByClusterJobId(clusterJobId: string): Promise<{ id: string; generation: number } | null> {
    const { rows } = await this.pool.query<{ id: string; generation: number }>(
      `SELECT id, generation FROM batch_jobs WHERE cluster_job_id = $1 AND status = 'running' LIMIT 1`,
      [clusterJobId],
    );
    return rows[0] ?? null;
  }

  async open(before: Date, afterId: string | undefined, limit: number): Promise<BatchRecord[]> {
    const { rows } = await this.pool.query<BatchRow>(
      `SELECT ${BATCH_COLUMNS} FROM batches
       WHERE status IN ('queued', 'running') AND created_at < $1 AND id > $2 ORDER BY id LIMIT $3`,
      [before, afterId ?? '', limit],
    );
    return rows.map(toBatch);
  }

  private async loadItems(ids: string[]): Promise<(ItemContext | null)[]> {
    const { rows } = await this.pool.query<
      BatchJobRecord & { policy: never; batchGeneration: number; batchCancel: boolean; batchOutcome: string | null }
    >({
      // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
      text: `SELECT ${JOB_COLUMNS}, b.policy, b.generation AS "batchGeneration",
               b.cancel_requested_at IS NOT NULL AS "batchCancel", b.outcome::text AS "batchOutcome"
             FROM batch_jobs j JOIN batches b ON b.id = j.batch_id WHERE j.id = ANY($1::text[])`,
      values: [ids],
    });
    const byId = new Map(
      rows.map(({ policy, batchGeneration, batchCancel, batchOutcome, ...job }) => [
        job.id,
        {
          job,
          batch: { policy, generation: batchGeneration, cancelRequested: batchCancel, terminal: batchOutcome !== null },
        },
      ]),
    );
    return ids.map((id) => byId.get(id) ?? null);
  }

  private async submitMany(items: Submitted[]): Promise<void> {
    await this.pool.query({
      // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
      text: `WITH v AS (
         SELECT * FROM json_to_recordset($1::json) AS v(id text, attempt int, cluster_job_id text, at timestamptz)
       ), o AS (${PENDING_BY_ID}), moved AS (
         UPDATE batch_jobs j SET status = 'running', attempts = v.attempt, cluster_job_id = v.cluster_job_id,
           cluster_status = 'SUBMITTED', submitted_at = v.at, started_at = NULL
         FROM v, o WHERE j.id = v.id AND o.id = v.id RETURNING j.batch_id, o.old, 'running'::text AS new
       ), ${SHIFT_COUNTERS} SELECT count(*) FROM counted`,
      values: [
        JSON.stringify(items.map((i) => ({ id: i.id, attempt: i.attempt, cluster_job_id: i.clusterJobId, at: i.at }))),
      ],
    });
  }

  private async finishMany(items: Finish[]): Promise<boolean[]> {
    // One transition per job per statement: a job finished twice in one merge keeps its first outcome.
    const unique = [...new Map(items.map((i) => [i.id, i])).values()];
    const { rows } = await this.pool.query<{ id: string }>({
      // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
      text: `WITH v AS (
         SELECT * FROM json_to_recordset($1::json) AS v(id text, status text, error jsonb)
       ), o AS (${PENDING_BY_ID}), moved AS (
         UPDATE batch_jobs j SET status = v.status::"WorkStatus", finished_at = now(),
           last_error = COALESCE(v.error, j.last_error), cluster_status = CASE WHEN v.status = 'succeeded'
             THEN 'SUCCEEDED' WHEN v.status = 'failed' THEN 'FAILED' ELSE j.cluster_status END
         FROM v, o WHERE j.id = v.id AND o.id = v.id RETURNING j.id, j.batch_id, o.old, v.status AS new
       ), ${SHIFT_COUNTERS} SELECT id FROM moved`,
      values: [JSON.stringify(unique.map((i) => ({ id: i.id, status: i.status, error: i.error })))],
    });
    const changed = new Set(rows.map((r) => r.id));
    const seen = new Set<string>();
    return items.map((i) => {
      const first = !seen.has(i.id);
      seen.add(i.id);
      return first && changed.has(i.id);
    });
  }
}
