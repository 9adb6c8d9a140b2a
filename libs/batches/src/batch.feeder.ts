import type { Job } from 'bullmq';
import type { JobPayloads } from '@baton/contracts';
import type { Logger } from '@baton/observability';
import type { BatchQueue } from './batch.queue';
import type { BatchStore } from './batch.store';

/** Items added to Redis per round trip: small enough that no other Redis user waits long (~50 ms per 1,000). */
export const FEED_PAGE = 1_000;

/**
 * Puts a batch generation into Redis after the 202: the parent (with its seal), then the items page by page in index
 * order, then the seal is released so the parent runs once the last item ends. The cursor is saved after each page;
 * a feeder resumed after a crash re-adds at most one page, which BullMQ deduplicates by job id.
 */
export class BatchFeeder {
  constructor(
    private readonly store: BatchStore,
    private readonly queue: BatchQueue,
    private readonly log: Logger,
  ) {}

  async feed(job: Job<JobPayloads['batch.feed'] & { cursor?: number }>): Promise<unknown> {
    const { batchId, generation } = job.data;
    const batch = await this.store.find(batchId, null);
    if (!batch || batch.generation !== generation || batch.outcome !== null) return { skipped: 'not current' };
    await this.queue.ensureParent(batch);
    let cursor = job.data.cursor ?? -1;
    let fed = 0;
    for (;;) {
      const page = await this.store.feedPage(batchId, generation, cursor, FEED_PAGE);
      if (page.length === 0) break;
      await this.queue.addItems(
        batch,
        page.map((j) => j.id),
      );
      cursor = page[page.length - 1].index;
      fed += page.length;
      await job.updateData({ ...job.data, cursor });
    }
    await this.store.markFed(batchId, generation);
    await this.queue.releaseSeal(batch);
    this.log.info({ batchId, tenantId: batch.tenantId, generation, items: fed }, 'batch fed');
    return { fed };
  }

  /** The parent ran: every child ended. Writes the outcome and the completion event (once). */
  async rollup(job: Job<JobPayloads['batch.rollup']>): Promise<unknown> {
    const { batchId, generation, tenantId } = job.data;
    const result = await this.store.rollup(batchId, generation);
    if (!result) return { skipped: 'batch gone' };
    if (result.completed) {
      this.log.info(
        {
          batchId,
          tenantId,
          generation,
          status: result.batch.status,
          outcome: result.batch.outcome,
          counts: result.batch.counts,
        },
        'batch completed',
      );
    }
    return { status: result.batch.status, outcome: result.batch.outcome };
  }
}
