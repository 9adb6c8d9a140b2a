import type { Pool, PoolClient } from 'pg';
import { Coalescer, newId } from '@baton/core';
import { inTransaction } from './pg-transaction';
import {
  inferenceCompletionKey,
  toInferenceJobView,
  type ClaimedItem,
  type InferenceInput,
  type InferenceJobRecord,
  type InferenceResultView,
  type InferenceStore,
  type ItemOutcome,
  type NewInferenceJob,
} from '@baton/inference';

const JOB_COLUMNS = `id, tenant_id AS "tenantId", model, version, status::text AS status, outcome::text AS outcome,
  priority, notify, total, queued, running, succeeded, failed, cancelled, created_at AS "createdAt",
  started_at AS "startedAt", finished_at AS "finishedAt", expires_at AS "expiresAt"`;

/** Hot-path statements are merged across concurrent items (see Coalescer): one round trip for many. */
const BATCHING = { maxBatch: 500, maxConcurrent: 2 };

interface ClaimRow {
  jobId: string;
  index: number;
  model: string;
  version: string;
  jobStatus: string;
  data: Buffer | null;
}

type Claim = { item: ClaimedItem; started: InferenceJobRecord | null } | null;

/** Inference jobs, items and their inputs (blobs) in Postgres, on raw `pg` for the bulk statements. */
export class PgInferenceStore implements InferenceStore {
  private readonly claims: Coalescer<{ jobId: string; index: number }, Claim>;
  private readonly completions: Coalescer<ItemOutcome, InferenceJobRecord | null>;

  constructor(private readonly pool: Pool) {
    this.claims = new Coalescer((keys) => this.claimMany(keys), BATCHING);
    this.completions = new Coalescer((outcomes) => this.completeMany(outcomes), BATCHING);
  }

  async create(job: NewInferenceJob): Promise<{ job: InferenceJobRecord; created: boolean }> {
    const inserted = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<InferenceJobRecord>(
        `INSERT INTO inference_jobs (id, tenant_id, model, version, priority, notify, total, queued, created_at,
                                     expires_at)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING RETURNING ${JOB_COLUMNS}`,
        [
          job.id,
          job.tenantId,
          job.model,
          job.version,
          job.priority,
          JSON.stringify(job.notify ?? null),
          job.inputs.length,
          job.createdAt,
          job.expiresAt,
        ],
      );
      if (rows.length === 0) return null;
      // Inputs apart from metadata: one blob per item, written with the job so an accepted job always has them.
      const blobIds = job.inputs.map(() => newId('blob'));
      const datas = job.inputs.map((input: InferenceInput) => Buffer.from(JSON.stringify(input)));
      await client.query(
        `INSERT INTO blobs (id, data, size, expires_at)
         SELECT id, data, length(data), $3 FROM unnest($1::text[], $2::bytea[]) AS b(id, data)`,
        [blobIds, datas, job.expiresAt],
      );
      await client.query(
        `INSERT INTO inference_items (job_id, index, input_blob_id)
         SELECT $1, i - 1, blob_ids[i] FROM (SELECT $2::text[] AS blob_ids) b, generate_subscripts($2::text[], 1) AS i`,
        [job.id, blobIds],
      );
      return rows[0];
    });
    if (inserted) return { job: inserted, created: true };
    const existing = await this.find(job.id, null);
    if (!existing) throw new Error(`inference job ${job.id} was neither inserted nor found`);
    return { job: existing, created: false };
  }

  async findMany(ids: string[]): Promise<InferenceJobRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<InferenceJobRecord>(
      `SELECT ${JOB_COLUMNS} FROM inference_jobs WHERE id = ANY($1::text[])`,
      [ids],
    );
    return rows;
  }

  async find(id: string, tenantId: string | null): Promise<InferenceJobRecord | null> {
    const { rows } = await this.pool.query<InferenceJobRecord>(
      `SELECT ${JOB_COLUMNS} FROM inference_jobs WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, tenantId],
    );
    return rows[0] ?? null;
  }

  async results(
    jobId: string,
    filter: { status?: 'succeeded' | 'failed'; afterIndex: number; limit: number },
  ): Promise<InferenceResultView[]> {
    const { rows } = await this.pool.query<{ index: number; status: string; output: unknown; error: unknown }>(
      `SELECT index, status::text AS status, output, error FROM inference_items
       WHERE job_id = $1 AND index > $2 AND ($3::text IS NULL OR status = $3::"WorkStatus")
       ORDER BY index LIMIT $4`,
      [jobId, filter.afterIndex, filter.status ?? null, filter.limit],
    );
    return rows.map((r) => ({
      index: r.index,
      status: r.status as InferenceResultView['status'],
      ...(r.output != null ? { output: r.output as InferenceResultView['output'] } : {}),
      ...(r.error != null ? { error: r.error as InferenceResultView['error'] } : {}),
    }));
  }

  async cancel(id: string, tenantId: string | null): Promise<InferenceJobRecord | null> {
    const changed = await inTransaction(this.pool, async (client) => {
      // The job row first, then its items: the order completions take too, so the two never deadlock.
      const locked = await client.query(
        `SELECT id FROM inference_jobs WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)
           AND status IN ('queued', 'running') FOR UPDATE`,
        [id, tenantId],
      );
      if (locked.rows.length === 0) return null;
      const { rows } = await client.query<InferenceJobRecord>(
        `WITH items AS (
           UPDATE inference_items SET status = 'cancelled', finished_at = now()
           WHERE job_id = $1 AND status IN ('queued', 'running') RETURNING status
         ), n AS (SELECT count(*)::int AS n FROM items)
         UPDATE inference_jobs j SET cancelled = j.cancelled + n.n, queued = 0, running = 0, status = 'cancelled',
                outcome = 'cancelled', finished_at = now()
         FROM n WHERE j.id = $1 RETURNING ${JOB_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1j.$2')}`,
        [id],
      );
      await this.insertEvents(client, rows);
      return rows[0] ?? null;
    });
    return changed ?? this.find(id, tenantId);
  }

  claim(jobId: string, index: number): Promise<Claim> {
    return this.claims.submit({ jobId, index });
  }

  complete(outcome: ItemOutcome): Promise<InferenceJobRecord | null> {
    return this.completions.submit(outcome);
  }

  async pendingItems(jobId: string): Promise<number[]> {
    const { rows } = await this.pool.query<{ index: number }>(
      `SELECT index FROM inference_items WHERE job_id = $1 AND status IN ('queued', 'running') ORDER BY index`,
      [jobId],
    );
    return rows.map((r) => r.index);
  }

  async pendingJobs(cutoff: Date, afterId: string | undefined, limit: number): Promise<InferenceJobRecord[]> {
    const { rows } = await this.pool.query<InferenceJobRecord>(
      `SELECT ${JOB_COLUMNS} FROM inference_jobs
       WHERE status IN ('queued', 'running') AND created_at < $1 AND id > $2 ORDER BY id LIMIT $3`,
      [cutoff, afterId ?? '', limit],
    );
    return rows;
  }

  async purgeExpired(now: Date, limit: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM inference_items WHERE (job_id, index) IN (
           SELECT i.job_id, i.index FROM inference_jobs j JOIN inference_items i ON i.job_id = j.id
           WHERE j.expires_at < $1 LIMIT $2)
         RETURNING input_blob_id
       ), blobs_gone AS (DELETE FROM blobs WHERE id IN (SELECT input_blob_id FROM gone))
       SELECT count(*)::int AS n FROM gone`,
      [now, limit],
    );
    // Inputs of items already gone (or never linked) expire with their job too.
    await this.pool.query(`DELETE FROM blobs WHERE id IN (SELECT id FROM blobs WHERE expires_at < $1 LIMIT $2)`, [
      now,
      limit,
    ]);
    return rows[0]?.n ?? 0;
  }

  private async claimMany(keys: { jobId: string; index: number }[]): Promise<Claim[]> {
    const { rows } = await this.pool.query<ClaimRow>(
      `SELECT i.job_id AS "jobId", i.index, j.model, j.version, j.status::text AS "jobStatus", b.data
       FROM unnest($1::text[], $2::int[]) AS r(job_id, idx)
       JOIN inference_items i ON i.job_id = r.job_id AND i.index = r.idx
       JOIN inference_jobs j ON j.id = i.job_id
       LEFT JOIN blobs b ON b.id = i.input_blob_id
       WHERE i.status IN ('queued', 'running') AND j.status IN ('queued', 'running')`,
      [keys.map((k) => k.jobId), keys.map((k) => k.index)],
    );
    const startedIds = [...new Set(rows.filter((r) => r.jobStatus === 'queued').map((r) => r.jobId))];
    const started = new Map<string, InferenceJobRecord>();
    if (startedIds.length > 0) {
      const moved = await this.pool.query<InferenceJobRecord>(
        `UPDATE inference_jobs SET status = 'running', started_at = COALESCE(started_at, now())
         WHERE id IN (SELECT id FROM inference_jobs WHERE id = ANY($1::text[]) AND status = 'queued'
                      ORDER BY id FOR UPDATE)
         RETURNING ${JOB_COLUMNS}`,
        [startedIds],
      );
      for (const job of moved.rows) started.set(job.id, job);
    }
    const byKey = new Map(rows.map((r) => [`${r.jobId}/${r.index}`, r]));
    return keys.map((k) => {
      const row = byKey.get(`${k.jobId}/${k.index}`);
      if (!row?.data) return null;
      const first = started.get(row.jobId) ?? null;
      started.delete(row.jobId); // reported once, with the first item claimed
      return {
        item: {
          jobId: row.jobId,
          index: row.index,
          model: row.model,
          version: row.version,
          input: JSON.parse(row.data.toString('utf8')) as InferenceInput,
        },
        started: first,
      };
    });
  }

  /**
   * Item outcomes, conditional on the item not having ended (a repeat after a crash changes nothing), the job
   * counters moved by what changed, a job whose last item this was made terminal, and its completion event: one
   * transaction. Job rows are locked in id order first, so merged statements and cancels never deadlock.
   */
  private async completeMany(outcomes: ItemOutcome[]): Promise<(InferenceJobRecord | null)[]> {
    const seen = new Set<string>();
    const unique = outcomes.filter((o) => {
      const key = `${o.jobId}/${o.index}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
    const jobs = await inTransaction(this.pool, async (client) => {
      await client.query(`SELECT id FROM inference_jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [
        [...new Set(unique.map((o) => o.jobId))],
      ]);
      const { rows } = await client.query<InferenceJobRecord>(
        `WITH r AS (
           SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
             AS r(job_id, idx, status, output, error)
         ), upd AS (
           UPDATE inference_items i SET status = r.status::"WorkStatus", output = r.output::jsonb,
                  error = r.error::jsonb, finished_at = now(), attempts = i.attempts + 1
           FROM r WHERE i.job_id = r.job_id AND i.index = r.idx AND i.status IN ('queued', 'running')
           RETURNING i.job_id, i.status
         ), d AS (
           SELECT job_id, count(*) FILTER (WHERE status = 'succeeded')::int AS s,
                  count(*) FILTER (WHERE status = 'failed')::int AS f
           FROM upd GROUP BY job_id
         ), done AS (
           SELECT d.*, (j.queued - d.s - d.f + j.running = 0) AS last FROM d JOIN inference_jobs j ON j.id = d.job_id
         )
         UPDATE inference_jobs j SET
           queued = j.queued - done.s - done.f,
           succeeded = j.succeeded + done.s,
           failed = j.failed + done.f,
           status = (CASE WHEN NOT done.last THEN 'running' WHEN j.failed + done.f = 0 THEN 'succeeded'
                     ELSE 'failed' END)::"WorkStatus",
           outcome = (CASE WHEN NOT done.last THEN NULL WHEN j.failed + done.f = 0 THEN 'all_succeeded'
                      WHEN j.succeeded + done.s = 0 THEN 'all_failed' ELSE 'partial' END)::"Outcome",
           started_at = COALESCE(j.started_at, now()),
           finished_at = CASE WHEN done.last THEN now() END
         FROM done WHERE j.id = done.job_id AND j.status IN ('queued', 'running')
         RETURNING ${JOB_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1j.$2')}`,
        [
          unique.map((o) => o.jobId),
          unique.map((o) => o.index),
          unique.map((o) => o.status),
          unique.map((o) => (o.status === 'succeeded' ? JSON.stringify(o.output) : null)),
          unique.map((o) => (o.status === 'failed' ? JSON.stringify(o.error) : null)),
        ],
      );
      await this.insertEvents(client, rows);
      return new Map(rows.map((j) => [j.id, j]));
    });
    return outcomes.map((o) => jobs.get(o.jobId) ?? null);
  }

  /** The completion event of each job that just ended; its dedup key makes it once per job whatever repeats. */
  private async insertEvents(client: PoolClient, jobs: InferenceJobRecord[]): Promise<void> {
    const ended = jobs.filter((j) => j.finishedAt !== null);
    if (ended.length === 0) return;
    await client.query(
      `INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
       SELECT id, tenant_id, 'inference.completed', 'inference', subject_id, dedup_key, payload
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
         AS e(id, tenant_id, subject_id, dedup_key, payload)
       ON CONFLICT (dedup_key) DO NOTHING`,
      [
        ended.map(() => newId('notification')),
        ended.map((j) => j.tenantId),
        ended.map((j) => j.id),
        ended.map((j) => inferenceCompletionKey(j.id)),
        ended.map((j) => JSON.stringify(toInferenceJobView(j))),
      ],
    );
  }
}
