import { BatonError, decodeCursor, encodeCursor, notFound, parseLimit, withTimeout, type Page } from '@baton/core';
import type { Logger } from '@baton/observability';
import type { InferenceQueue } from './inference.queue';
import { expiresAt, planSubmission, type SubmitInferenceInput } from './inference.rules';
import type { InferenceStore } from './inference.store';
import type { InferenceSummaries } from './inference.summaries';
import {
  toInferenceJobView,
  type InferenceJobRecord,
  type InferenceJobView,
  type InferenceResultView,
} from './inference.types';
import { describeModel, type ModelRegistry } from './model.registry';
import type { ModelView } from './model.types';

/** Past this, the request answers anyway: the job is stored, and the reconciler enqueues its items. */
const ENQUEUE_TIMEOUT_MS = 5_000;
const SUMMARY_TIMEOUT_MS = 500;
const STREAM_PAGE = 1000;

/** The inference use cases the API calls. `tenantId` null means an admin acting across tenants. */
export class InferenceService {
  constructor(
    private readonly store: InferenceStore,
    private readonly queue: InferenceQueue,
    private readonly summaries: InferenceSummaries,
    private readonly registry: ModelRegistry,
    private readonly opts: { resultTtlMs: number },
    private readonly log: Logger,
  ) {}

  models(): ModelView[] {
    return this.registry.list().map(describeModel);
  }

  /** Validates, pins the version, stores job and inputs (Postgres first), then enqueues one job per item. */
  async submit(
    tenantId: string,
    body: SubmitInferenceInput,
    ids: { id: string; requestId: string | null },
  ): Promise<InferenceJobView> {
    const plan = planSubmission(body, this.registry);
    const now = new Date();
    const { job, created } = await this.store.create({
      id: ids.id,
      tenantId,
      model: plan.model.name,
      version: plan.version,
      priority: body.priority ?? 5,
      notify: body.notify ?? null,
      inputs: plan.inputs,
      requestId: ids.requestId,
      createdAt: now,
      expiresAt: expiresAt(now, this.opts.resultTtlMs),
    });
    await this.putSummary(job);
    if (created) {
      try {
        const indexes = Array.from({ length: job.total }, (_, i) => i);
        await withTimeout(
          this.queue.enqueue({ ...job, requestId: ids.requestId }, indexes),
          ENQUEUE_TIMEOUT_MS,
          'enqueue',
        );
      } catch (error) {
        this.log.warn(
          { inferenceJobId: job.id, tenantId, err: error },
          'inference job stored but not enqueued; the reconciler will enqueue it',
        );
      }
    }
    return toInferenceJobView(job);
  }

  /** Served from the Redis summary; Postgres when it is missing (or Redis is away). */
  async get(id: string, tenantId: string | null): Promise<InferenceJobView> {
    return toInferenceJobView(await this.job(id, tenantId));
  }

  async results(
    id: string,
    tenantId: string | null,
    query: { status?: 'succeeded' | 'failed'; limit?: unknown; cursor?: string },
  ): Promise<Page<InferenceResultView>> {
    const limit = parseLimit(query.limit);
    const after = decodeCursor(query.cursor);
    const afterIndex = after === undefined ? -1 : Number(after);
    if (!Number.isInteger(afterIndex)) {
      throw new BatonError('validation_failed', 'cursor is not valid', [{ field: 'cursor', message: 'is not valid' }]);
    }
    await this.readableJob(id, tenantId);
    const rows = await this.store.results(id, { status: query.status, afterIndex, limit: limit + 1 });
    const more = rows.length > limit;
    const data = more ? rows.slice(0, limit) : rows;
    return { data, nextCursor: more ? encodeCursor(String(data[data.length - 1].index)) : null };
  }

  /** Every item in index order, a page at a time (for results.jsonl); checks access and expiry before the first. */
  async stream(id: string, tenantId: string | null): Promise<AsyncIterable<InferenceResultView[]>> {
    await this.readableJob(id, tenantId);
    const store = this.store;
    return (async function* () {
      let afterIndex = -1;
      for (;;) {
        const page = await store.results(id, { afterIndex, limit: STREAM_PAGE });
        if (page.length === 0) return;
        yield page;
        afterIndex = page[page.length - 1].index;
        if (page.length < STREAM_PAGE) return;
      }
    })();
  }

  /** Cancelling a finished job changes nothing and is not an error: the answer shows its final state. */
  async cancel(id: string, tenantId: string | null): Promise<InferenceJobView> {
    const job = await this.store.cancel(id, tenantId);
    if (!job) throw notFound('inference job');
    await this.putSummary(job);
    return toInferenceJobView(job);
  }

  private async job(id: string, tenantId: string | null): Promise<InferenceJobRecord> {
    const cached = await withTimeout(this.summaries.get(id), SUMMARY_TIMEOUT_MS, 'summary').catch(() => null);
    if (cached) {
      if (tenantId !== null && cached.tenantId !== tenantId) throw notFound('inference job');
      return cached;
    }
    const job = await this.store.find(id, tenantId);
    if (!job) throw notFound('inference job');
    await this.putSummary(job);
    return job;
  }

  private async readableJob(id: string, tenantId: string | null): Promise<InferenceJobRecord> {
    const job = await this.job(id, tenantId);
    if (job.expiresAt.getTime() <= Date.now()) {
      throw new BatonError('expired', `results of ${id} expired at ${job.expiresAt.toISOString()}`);
    }
    return job;
  }

  private async putSummary(job: InferenceJobRecord): Promise<void> {
    await withTimeout(this.summaries.put(job), SUMMARY_TIMEOUT_MS, 'summary').catch((error: unknown) =>
      this.log.warn({ inferenceJobId: job.id, err: error }, 'inference summary not written; reads use Postgres'),
    );
  }
}
