import type { Queue } from 'bullmq';
import { itemJobId, type InferenceQueue, type InferenceStore } from '@baton/inference';
import { jobPresence, type RedisClient } from '@baton/queue';

const PAGE = 100;
/** Items checked against Redis per round trip. */
const CHUNK = 1000;

/**
 * Accepted inference work that Redis does not hold is enqueued again: a crash between commit and enqueue, a Redis
 * flush, or, under fair sharing, a worker killed between admitting items and adding them to the queue (the fair audit
 * frees those slots; the items are then in neither a lane nor the queue). Every pending item is checked: in the queue,
 * in a lane or admitted counts as held. An item missing from Redis is enqueued only if Postgres still has it pending
 * after the check, so one that finished (and was trimmed from Redis) in between is not run again.
 */
export async function reconcileInference(
  store: InferenceStore,
  queue: InferenceQueue,
  redisQueue: { queue: Queue; redis: RedisClient },
  graceMs: number,
): Promise<number> {
  let requeued = 0;
  let after: string | undefined;
  for (;;) {
    const jobs = await store.pendingJobs(new Date(Date.now() - graceMs), after, PAGE);
    for (const job of jobs) {
      const pending = await store.pendingItems(job.id);
      const missing: number[] = [];
      for (let i = 0; i < pending.length; i += CHUNK) {
        const chunk = pending.slice(i, i + CHUNK);
        const held = await heldInRedis(
          redisQueue,
          queue,
          chunk.map((index) => itemJobId(job.id, index)),
        );
        missing.push(...chunk.filter((_, n) => !held[n]));
      }
      if (missing.length === 0) continue;
      const still = new Set(await store.pendingItems(job.id));
      const lost = missing.filter((index) => still.has(index));
      if (lost.length === 0) continue;
      await queue.enqueue(job, lost);
      requeued += lost.length;
    }
    if (jobs.length < PAGE) return requeued;
    after = jobs[jobs.length - 1].id;
  }
}

/** For each BullMQ job id: whether Redis holds it, in the queue or (fair sharing) in a lane or admitted. */
async function heldInRedis(
  redisQueue: { queue: Queue; redis: RedisClient },
  queue: InferenceQueue,
  ids: string[],
): Promise<boolean[]> {
  const [presence, lanes] = await Promise.all([
    jobPresence(redisQueue.redis, redisQueue.queue, ids),
    queue.fair?.holds(ids) ?? [],
  ]);
  return ids.map((_, n) => presence[n] !== 'missing' || lanes[n] === true);
}
