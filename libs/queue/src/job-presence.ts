import type { Queue } from 'bullmq';
import type { RedisClient } from './redis';

/**
 * What a reconciler needs to know of a job: Redis holds none (or only a ghost: a hash without a name, which a script
 * that wrote a field after the job was deleted leaves, e.g. across a flush), BullMQ gave up on it (failed), or it is
 * there.
 */
export type JobPresence = 'missing' | 'failed' | 'present';

/**
 * Where many jobs of one queue stand, in one pipelined round trip: two plain reads per id (HEXISTS of the job hash's
 * name, ZSCORE in the failed set), instead of BullMQ's `getJobState` script per id, which probes up to eight
 * structures and costs a script call each. Reconcilers scan every pending row each pass, so with a backlog of many
 * thousands this is the difference between a few milliseconds of Redis per page and a noticeable share of its CPU. On
 * a Redis Cluster the queue's keys share one slot (a hash-tagged prefix), as BullMQ requires there anyway.
 */
export async function jobPresence(redis: RedisClient, queue: Queue, ids: string[]): Promise<JobPresence[]> {
  if (ids.length === 0) return [];
  const failedKey = queue.toKey('failed');
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hexists(queue.toKey(id), 'name').zscore(failedKey, id);
  const replies = (await pipeline.exec()) ?? [];
  return ids.map((_, i) => {
    const [namedError, named] = replies[2 * i] ?? [new Error('no reply')];
    const [failedError, failedScore] = replies[2 * i + 1] ?? [new Error('no reply')];
    const error = namedError ?? failedError;
    if (error) throw error;
    if (failedScore !== null) return 'failed';
    return named === 1 ? 'present' : 'missing';
  });
}
