import type { FairQueue } from '@baton/fairness';
import { JobProducer } from '@baton/queue';

/** Jobs added per Redis call when a submission fans out into items. */
const CHUNK = 1000;

export interface ItemJobOptions {
  attempts: number;
  backoffMs: number;
}

/** One BullMQ job per item, id `<jobId>-<index>`: enqueueing an item twice is harmless. */
export const itemJobId = (jobId: string, index: number): string => `${jobId}-${index}`;

export class InferenceQueue {
  constructor(
    private readonly producer: JobProducer,
    private readonly opts: ItemJobOptions,
    /** The inference queue's fair dispatcher; absent when FAIR_QUEUES leaves inference out. */
    readonly fair?: FairQueue,
  ) {}

  async enqueue(
    job: { id: string; tenantId: string; priority: number; requestId?: string | null },
    indexes: number[],
  ): Promise<void> {
    for (let start = 0; start < indexes.length; start += CHUNK) {
      const jobs = indexes.slice(start, start + CHUNK).map((index) => ({
        payload: { jobId: job.id, tenantId: job.tenantId, index, requestId: job.requestId ?? undefined },
        opts: {
          jobId: itemJobId(job.id, index),
          priority: job.priority,
          attempts: this.opts.attempts,
          backoff: { type: 'exponential', delay: this.opts.backoffMs },
          // Results live in Postgres; Redis keeps a little for Bull Board.
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      }));
      if (!this.fair) {
        await this.producer.addBulk('inference.item', jobs);
        continue;
      }
      // Fair sharing: items wait in the tenant's lane and are added to the queue when admitted.
      await this.fair.enqueue(
        jobs.map((j) => ({
          jobId: j.opts.jobId,
          tenantId: job.tenantId,
          priority: job.priority,
          job: { name: 'inference.item', data: j.payload, opts: j.opts },
        })),
      );
    }
  }
}
