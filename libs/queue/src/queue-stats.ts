import type { Queue } from 'bullmq';

export interface QueueStats {
  name: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  paused: boolean;
  /** Age of the oldest job that is due and not started, in ms (0 when none). */
  oldestWaitingMs: number;
  /** Completions and failures per second over the last five minutes (BullMQ worker metrics). */
  completedPerSecond: number;
  failedPerSecond: number;
}

/** Jobs inspected at the head of each waiting structure to find the oldest one. */
const HEAD = 100;

/**
 * A queue's state for operators. The oldest waiting job is looked for among the first HEAD jobs of the wait list
 * (FIFO: its head is its oldest) and of the priority set (its head is the highest priority, which under ageing-free
 * priorities may hide an older low-priority job: the figure is then a lower bound).
 */
export async function describeQueue(queue: Queue, now = Date.now()): Promise<QueueStats> {
  const [counts, paused, waitingHead, completed, failed] = await Promise.all([
    queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
    queue.isPaused(),
    queue.getJobs(['wait', 'prioritized'], 0, HEAD - 1, true),
    queue.getMetrics('completed', 0, 4),
    queue.getMetrics('failed', 0, 4),
  ]);
  const oldest = waitingHead.reduce((min, job) => Math.min(min, job.timestamp), now);
  const perSecond = (data: number[]) => data.slice(0, 5).reduce((a, b) => a + b, 0) / 300;
  return {
    name: queue.name,
    waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    completed: counts.completed ?? 0,
    paused,
    oldestWaitingMs: Math.max(0, now - oldest),
    completedPerSecond: Math.round(perSecond(completed.data) * 100) / 100,
    failedPerSecond: Math.round(perSecond(failed.data) * 100) / 100,
  };
}
