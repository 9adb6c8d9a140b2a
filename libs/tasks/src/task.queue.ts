import { backoffDelay, Coalescer, type BackoffPolicy } from '@baton/core';
import { JobProducer } from '@baton/queue';
import { delayUntilRun } from './task.rules';
import type { TaskRecord } from './task.types';

export const TASK_BACKOFF_TYPE = 'baton';

/** Puts tasks on the tasks queue. The job id is the task id, so enqueueing a task twice is harmless. */
export class TaskQueue {
  /** Single enqueues from concurrent requests go out as one addBulk (one round trip, one Lua call per job). */
  private readonly single = new Coalescer<TaskRecord, void>(
    async (tasks) => {
      await this.enqueue(tasks);
      return tasks.map(() => undefined);
    },
    { maxBatch: 500, maxConcurrent: 1 },
  );

  constructor(private readonly producer: JobProducer) {}

  enqueueOne(task: TaskRecord): Promise<void> {
    return this.single.submit(task);
  }

  async enqueue(tasks: TaskRecord[], now = new Date()): Promise<void> {
    await this.producer.addBulk(
      'task.run',
      tasks.map((task) => ({
        payload: { taskId: task.id, tenantId: task.tenantId, requestId: task.requestId ?? undefined },
        opts: {
          jobId: task.id,
          priority: task.priority,
          delay: delayUntilRun(task, now),
          attempts: task.maxAttempts,
          backoff: { type: TASK_BACKOFF_TYPE },
          // History lives in Postgres; Redis keeps a little for Bull Board.
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      })),
    );
  }

  /** Enqueues a task again under its id: a finished job still held by Redis is removed first, or the add is a no-op. */
  async requeue(task: TaskRecord): Promise<void> {
    await this.remove(task.id);
    await this.enqueue([task]);
  }

  /** Removes a task's job if it has not started; an active job is stopped by the cancel signal instead. */
  async remove(taskId: string): Promise<void> {
    const job = await this.producer.queue('tasks').getJob(taskId);
    if (job && !(await job.isActive())) await job.remove().catch(() => undefined);
  }
}

/** BullMQ's custom backoff for tasks: our exponential with full jitter. */
export const taskBackoffStrategy =
  (policy: BackoffPolicy) =>
  (attemptsMade: number): number =>
    backoffDelay(attemptsMade, policy);
