import type { Queue } from 'bullmq';
import { metrics, type Logger } from '@baton/observability';
import { jobPresence, type RedisClient } from '@baton/queue';
import { describeFailure } from './task.rules';
import type { TaskQueue } from './task.queue';
import type { TaskStore } from './task.store';
import type { TaskRecord } from './task.types';

const PAGE = 500;

export interface ReconcileReport {
  scanned: number;
  requeued: number;
  failed: number;
}

/**
 * Postgres is the truth: every task it holds as queued or running must have a job in Redis. The reconciler walks
 * those tasks and enqueues again any whose job is missing (a crash between commit and enqueue, a flushed or failed-over
 * Redis). Enqueueing uses the task id as job id, so racing a live request or another reconciler is harmless.
 * A job BullMQ gave up on (stalled too often) while the task still reads running is failed for good here.
 */
export class TaskReconciler {
  constructor(
    private readonly store: TaskStore,
    private readonly taskQueue: TaskQueue,
    private readonly queue: Queue,
    private readonly redis: RedisClient,
    private readonly log: Logger,
  ) {}

  async run(graceMs: number, now = new Date()): Promise<ReconcileReport> {
    const report: ReconcileReport = { scanned: 0, requeued: 0, failed: 0 };
    const cutoff = new Date(now.getTime() - graceMs);
    let after: string | undefined;
    for (;;) {
      // Ids first, checked against Redis a page at a time in one round trip; whole rows only for what needs repair.
      const ids = await this.store.pendingIds(cutoff, after, PAGE);
      if (ids.length === 0) break;
      report.scanned += ids.length;
      after = ids[ids.length - 1];
      const [presence, held] = await Promise.all([
        jobPresence(this.redis, this.queue, ids),
        // Under fair sharing a task waiting for admission has no job yet: its lane holds it.
        this.taskQueue.fair?.holds(ids) ?? [],
      ]);
      const suspect = ids.filter((_, i) => presence[i] === 'failed' || (presence[i] === 'missing' && !held[i]));
      if (suspect.length === 0) continue;
      // Read again after the check: a task that ended in between (and whose job was trimmed) is left alone.
      const tasks = new Map((await this.store.stillPending(suspect)).map((t) => [t.id, t]));
      const missing: TaskRecord[] = [];
      for (let i = 0; i < ids.length; i++) {
        const task = tasks.get(ids[i]);
        if (!task) continue;
        if (presence[i] === 'failed') report.failed += (await this.failAbandoned(task)) ? 1 : 0;
        else missing.push(task);
      }
      if (missing.length > 0) {
        await this.taskQueue.enqueue(missing, now);
        report.requeued += missing.length;
        metrics.reconciled.inc({ kind: 'task' }, missing.length);
      }
    }
    if (report.requeued + report.failed > 0) this.log.warn(report, 'reconciler repaired tasks missing from Redis');
    return report;
  }

  private async failAbandoned(task: TaskRecord): Promise<boolean> {
    const job = await this.queue.getJob(task.id);
    const error = describeFailure(new Error(job?.failedReason || 'job failed in the queue'), task.attempts);
    // The attempt that BullMQ abandoned has already been counted (or never written): it is not a new one.
    const attempt = { task, number: Math.max(1, task.attempts), startedAt: task.startedAt ?? new Date() };
    return this.store.fail(attempt, error, {
      queue: this.queue.name,
      jobName: job?.name ?? 'task.run',
      data: job?.data ?? {},
    });
  }
}
