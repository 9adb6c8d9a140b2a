import type { Pool } from 'pg';

/** One batch job as execution history shows it, with its batch's name and creation time. */
export interface BatchJobHistoryRow {
  id: string;
  batchId: string;
  batchName: string | null;
  index: number;
  tenantId: string;
  status: string;
  attempts: number;
  lastError: unknown;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One inference job as execution history shows it. */
export interface InferenceJobHistoryRow {
  id: string;
  model: string;
  version: string;
  total: number;
  tenantId: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * Execution history of batch jobs (the cluster items of every batch), newest first by id (ids sort by creation).
 * Each filter has its index: (status, id) and (tenant_id, id); with neither, the primary key is walked backwards.
 */
export class JobHistoryStore {
  constructor(private readonly pool: Pool) {}

  async batchJobs(
    filter: { status?: string; tenantId?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<BatchJobHistoryRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (filter.status) add('j.status = ?::"WorkStatus"', filter.status);
    if (filter.tenantId) add('j.tenant_id = ?', filter.tenantId);
    if (beforeId) add('j.id < ?', beforeId);
    args.push(limit);
    const { rows } = await this.pool.query<BatchJobHistoryRow>(
      `SELECT j.id, j.batch_id AS "batchId", b.name AS "batchName", j.index, j.tenant_id AS "tenantId",
         j.status::text AS status, j.attempts, j.last_error AS "lastError", b.created_at AS "createdAt",
         j.started_at AS "startedAt", j.finished_at AS "finishedAt"
       FROM batch_jobs j JOIN batches b ON b.id = j.batch_id
       ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY j.id DESC LIMIT $${args.length}`,
      args,
    );
    return rows;
  }

  /**
   * Deletes up to `limit` finished batches that ended before `cutoff`, with their jobs and attempts (cascade). The
   * created_at bound (implied by finished_at) lets the (status, created_at) index find them.
   */
  async purgeFinishedBatches(cutoff: Date, limit: number): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM batches WHERE id IN (
         SELECT id FROM batches
         WHERE status IN ('succeeded', 'failed', 'cancelled') AND created_at < $1 AND finished_at < $1
         LIMIT $2)`,
      [cutoff, limit],
    );
    return rowCount ?? 0;
  }

  /** Inference jobs, newest first; (status, id) and (tenant_id, id) serve the filters, the primary key the rest. */
  async inferenceJobs(
    filter: { status?: string; tenantId?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<InferenceJobHistoryRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (filter.status) add('status = ?::"WorkStatus"', filter.status);
    if (filter.tenantId) add('tenant_id = ?', filter.tenantId);
    if (beforeId) add('id < ?', beforeId);
    args.push(limit);
    const { rows } = await this.pool.query<InferenceJobHistoryRow>(
      `SELECT id, model, version, total, tenant_id AS "tenantId", status::text AS status, created_at AS "createdAt",
         started_at AS "startedAt", finished_at AS "finishedAt"
       FROM inference_jobs ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY id DESC LIMIT $${args.length}`,
      args,
    );
    return rows;
  }
}
