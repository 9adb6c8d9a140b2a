import {
  decodeCursor,
  encodeCursor,
  invalidState,
  newId,
  notFound,
  parseLimit,
  validationFailed,
  withTimeout,
  WORK_STATUSES,
  type Page,
} from '@baton/core';
import type { Logger } from '@baton/observability';
import { parseBatchRequest } from './batch.input';
import type { BatchQueue } from './batch.queue';
import type { BatchStore } from './batch.store';
import { toBatchJobView, toBatchView, type BatchJobView, type BatchView } from './batch.types';

/** Past this, the request answers anyway: the batch is stored, and the reconciler starts its feeder. */
const ENQUEUE_TIMEOUT_MS = 2_000;

/** The batch use cases the API calls. `tenantId` null means an admin acting across tenants. */
export class BatchService {
  constructor(
    private readonly store: BatchStore,
    private readonly queue: BatchQueue,
    private readonly log: Logger,
  ) {}

  /**
   * Checks the request, stores the batch and every job in one transaction, then enqueues its feeder: O(1) Redis work
   * in the request, however many items. A refused request stores nothing.
   */
  async create(
    tenantId: string,
    body: unknown,
    ids: { id?: string; requestId: string | null },
  ): Promise<BatchView & { dropped: number }> {
    const request = parseBatchRequest(body);
    const { batch, created } = await this.store.create({
      id: ids.id ?? newId('batch'),
      tenantId,
      name: request.name,
      priority: request.priority,
      policy: request.policy,
      dedupe: request.dedupe,
      notify: request.notify,
      jobs: request.items.map((item) => ({ id: newId('batchJob'), index: item.index, params: item.params })),
    });
    if (created || batch.fedAt === null) {
      try {
        await withTimeout(this.queue.feed(batch, ids.requestId ?? undefined), ENQUEUE_TIMEOUT_MS, 'enqueue');
      } catch (error) {
        this.log.warn(
          { batchId: batch.id, tenantId, err: error },
          'batch stored but its feeder not enqueued; the reconciler will start it',
        );
      }
    }
    return { ...toBatchView(batch), dropped: request.dropped };
  }

  async get(id: string, tenantId: string | null): Promise<BatchView> {
    const batch = await this.store.find(id, tenantId);
    if (!batch) throw notFound('batch');
    return toBatchView(batch);
  }

  async jobs(
    id: string,
    tenantId: string | null,
    query: { status?: string; limit?: unknown; cursor?: string },
  ): Promise<Page<BatchJobView>> {
    if (query.status !== undefined && !(WORK_STATUSES as readonly string[]).includes(query.status)) {
      throw validationFailed([{ field: 'status', message: `must be one of ${WORK_STATUSES.join(', ')}` }]);
    }
    const limit = parseLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const afterIndex = after === undefined ? -1 : Number(after);
    if (!Number.isInteger(afterIndex)) throw validationFailed([{ field: 'cursor', message: 'is not a valid cursor' }]);
    if (!(await this.store.find(id, tenantId))) throw notFound('batch');
    const rows = await this.store.jobs(id, query.status, afterIndex, limit + 1);
    const data = rows.slice(0, limit).map(toBatchJobView);
    const more = rows.length > limit;
    return { data, nextCursor: more ? encodeCursor(String(data[data.length - 1].index)) : null };
  }

  /** Queued jobs never start; running ones are cancelled on the cluster at their next step, which comes at once. */
  async cancel(id: string, tenantId: string | null): Promise<BatchView> {
    const result = await this.store.requestCancel(id, tenantId);
    if (!result) throw notFound('batch');
    await this.queue.wake(result.running.map((jobId) => ({ id: jobId, generation: result.batch.generation })));
    return toBatchView(result.batch);
  }

  async cancelJob(id: string, jobId: string, tenantId: string | null): Promise<BatchJobView> {
    const job = await this.store.requestJobCancel(id, jobId, tenantId);
    if (!job) throw notFound('batch job');
    if (job.status === 'running') await this.queue.wake([{ id: job.id, generation: job.generation }]);
    return toBatchJobView(job);
  }

  /** Failed jobs run again under a new generation (new client tokens, a new parent); the batch reopens. */
  async retryFailed(id: string, tenantId: string | null): Promise<BatchView> {
    const existing = await this.store.find(id, tenantId);
    if (!existing) throw notFound('batch');
    if (existing.outcome === null)
      throw invalidState('the batch has not finished; retry-failed reopens finished batches');
    if (existing.counts.failed === 0) throw invalidState('the batch has no failed jobs');
    const batch = await this.store.reopenFailed(id, tenantId);
    if (!batch) throw invalidState('the batch changed meanwhile; read it and try again');
    await this.queue.feed(batch);
    return toBatchView(batch);
  }
}
