import type { Queue } from 'bullmq';
import { itemJobId, type InferenceQueue, type InferenceStore } from '@baton/inference';

const PAGE = 100;

/**
 * Accepted inference work that Redis does not hold (a crash between commit and enqueue, a Redis flush) is enqueued
 * again. Items are enqueued in index order, so a job whose last pending item is in Redis has all of them there.
 */
export async function reconcileInference(
  store: InferenceStore,
  queue: InferenceQueue,
  redisQueue: Queue,
  graceMs: number,
): Promise<number> {
  let requeued = 0;
  let after: string | undefined;
  for (;;) {
    const jobs = await store.pendingJobs(new Date(Date.now() - graceMs), after, PAGE);
    for (const job of jobs) {
      const pending = await store.pendingItems(job.id);
      if (pending.length === 0) continue;
      const last = itemJobId(job.id, pending[pending.length - 1]);
      if (await redisQueue.getJob(last)) continue;
      // Under fair sharing, items waiting for admission are in their tenant's lane, not yet in the queue.
      if ((await queue.fair?.holds([last]))?.[0]) continue;
      await queue.enqueue(job, pending);
      requeued += pending.length;
    }
    if (jobs.length < PAGE) return requeued;
    after = jobs[jobs.length - 1].id;
  }
}
