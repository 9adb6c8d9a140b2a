import { DelayedError, WaitingChildrenError, type Job } from 'bullmq';
import type { JobPayloads } from '@baton/contracts';
import type { Logger } from '@baton/observability';
import type { BatchQueue } from './batch.queue';
import { stillOpen } from './batch.reconciler';
import type { BatchStore } from './batch.store';

/** Items added to Redis per round trip: small enough that no other Redis user waits long (~50 ms per 1,000). */
export const FEED_PAGE = 1_000;
/**
 * Times a roll-up puts items that are still open back under itself before failing them as lost: their step jobs
 * ended without an outcome (a ghost after Redis lost keys under a running worker, a job out of infrastructure
 * retries), and running the step again is safe (client tokens).
 */
export const ROLLUP_REPAIRS = 5;
/** An open item whose job a worker still holds (it is about to end): the roll-up looks again this much later. */
const ROLLUP_RECHECK_MS = 2_000;

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

  /**
   * The parent ran: every child ended. Writes the outcome and the completion event (once). Items still open had their
   * step job end without an outcome: up to ROLLUP_REPAIRS times they are put back as children and the parent waits
   * again; after that they fail as lost.
   */
  async rollup(job: Job<JobPayloads['batch.rollup'] & { repairs?: number }>, token?: string): Promise<unknown> {
    const { batchId, generation, tenantId } = job.data;
    const repairs = job.data.repairs ?? 0;
    if (token && repairs < ROLLUP_REPAIRS) {
      const { open, readded } = await this.readdOpenItems(job.data, repairs);
      if (open > 0) {
        await job.updateData({ ...job.data, repairs: repairs + 1 });
        if (readded > 0 && (await job.moveToWaitingChildren(token))) throw new WaitingChildrenError();
        await job.moveToDelayed(Date.now() + ROLLUP_RECHECK_MS, token);
        throw new DelayedError();
      }
    }
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

  /** Puts this generation's open items back under the parent (those no worker holds); counts both. */
  private async readdOpenItems(
    data: JobPayloads['batch.rollup'],
    repairs: number,
  ): Promise<{ open: number; readded: number }> {
    const batch = await this.store.find(data.batchId, null);
    if (!batch || batch.generation !== data.generation || batch.outcome !== null) return { open: 0, readded: 0 };
    let open = 0;
    let readded = 0;
    let cursor = -1;
    for (;;) {
      const page = await this.store.feedPage(batch.id, batch.generation, cursor, FEED_PAGE);
      if (page.length === 0) break;
      cursor = page[page.length - 1].index;
      const ids = await stillOpen(
        this.store,
        batch,
        page.map((j) => j.id),
      );
      open += ids.length;
      readded += (await this.queue.readdItems(batch, ids)).length;
    }
    if (open > 0) {
      this.log.warn(
        { batchId: batch.id, tenantId: batch.tenantId, generation: batch.generation, open, readded, repairs },
        'batch items ended in the queue without an outcome; put back under the roll-up',
      );
    }
    return { open, readded };
  }
}
