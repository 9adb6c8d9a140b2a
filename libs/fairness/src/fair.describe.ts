import type { Queue } from 'bullmq';
import { describeQueue, type QueueStats } from '@baton/queue';
import type { FairQueue, TenantShare } from './fair.queue';

export interface FairQueueStats extends QueueStats {
  /** Per tenant, on a fair-shared queue: waiting for admission, in flight, finished per second. */
  tenants?: TenantShare[];
  /** On a fair-shared queue: jobs whose time has not come (runAt, retry backoff), counted among delayed. */
  later?: number;
}

/**
 * A queue's state for operators, fair dispatch included: jobs waiting in tenants' lanes count as waiting (BullMQ holds
 * them parked among its delayed jobs, which is an implementation detail), and each tenant's share is listed.
 */
export async function describeFairQueue(
  queue: Queue,
  fair: FairQueue | undefined,
  now = Date.now(),
): Promise<FairQueueStats> {
  const stats = await describeQueue(queue, now);
  if (!fair) return stats;
  const { tenants, later } = await fair.stats(now);
  const laned = tenants.reduce((sum, t) => sum + t.waiting, 0);
  return {
    ...stats,
    waiting: stats.waiting + laned,
    delayed: Math.max(0, stats.delayed - laned),
    oldestWaitingMs: Math.max(stats.oldestWaitingMs, ...tenants.map((t) => t.headWaitingMs)),
    tenants,
    later,
  };
}
