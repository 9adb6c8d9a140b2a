import { backoffDelay, Coalescer, withChanges, type BackoffPolicy } from '@baton/core';
import { FairQueue } from '@baton/fairness';
import { JobProducer } from '@baton/queue';
import { delayUntilRun } from './task.rules';
import type { TaskRecord } from './task.types';

export const TASK_BACKOFF_TYPE = 'baton';

/**
 * What Redis keeps of finished task jobs: history lives in Postgres, and Redis keeps a little for Bull Board. Given to
 * the tasks queue's workers (BullMQ applies a worker's setting to jobs that carry none) rather than to every job: the
 * options of the busiest job stay small, which BullMQ packs at every add, stores, and reads back at every start.
 */
export const TASK_JOB_RETENTION = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };

/**
 * Puts tasks on the tasks queue. The job id is the task id, so enqueueing a task twice is harmless. With fair sharing
 * on, a task waits in its tenant's lane and is added to the queue when the dispatcher admits it (libs/fairness).
 */
export class TaskQueue {
  /** Single enqueues from concurrent requests go out as one addBulk (one round trip, one Lua call per job). */
  private readonly single = new Coalescer<TaskRecord, void>(
    async (tasks) => {
      await this.enqueue(tasks);
      return tasks.map(() => undefined);
    },
    { maxBatch: 500, maxConcurrent: 1 },
  );

  constructor(
    private readonly producer: JobProducer,
    /** The tasks queue's fair dispatcher; absent when FAIR_QUEUES leaves tasks out. */
    readonly fair?: FairQueue,
  ) {}

  enqueueOne(task: TaskRecord): Promise<void> {
    return this.single.submit(task);
  }

  async enqueue(tasks: TaskRecord[], now = new Date()): Promise<void> {
    const jobs = tasks.map((task) => ({
      name: 'task.run' as const,
      data: {
        taskId: task.id,
        tenantId: task.tenantId,
        priority: task.priority,
        requestId: task.requestId ?? undefined,
      },
      opts: {
        jobId: task.id,
        priority: task.priority,
        delay: delayUntilRun(task, now),
        attempts: task.maxAttempts,
        backoff: { type: TASK_BACKOFF_TYPE },
        // How many finished jobs Redis keeps is the worker's setting (TASK_JOB_RETENTION), not each job's.
      },
    }));
    if (!this.fair) {
      await this.producer.addBulk(
        'task.run',
        jobs.map((j) => ({ payload: j.data, opts: j.opts })),
      );
      return;
    }
    // Fair sharing: the task waits in its tenant's lane (from its runAt) and is added to BullMQ when admitted.
    await this.fair.enqueue(
      tasks.map((task, i) => ({
        jobId: task.id,
        tenantId: task.tenantId,
        priority: task.priority,
        readyAt: now.getTime() + jobs[i].opts.delay,
        // Added when admitted, with no delay: its time counts from when it became due (enqueue-to-start metric). And
        // without a BullMQ priority: the dispatcher has ordered it already (priority with ageing, shares between
        // tenants), so admitted jobs run in the order they were admitted, from BullMQ's plain wait list.
        job: {
          name: jobs[i].name,
          data: jobs[i].data,
          opts: withChanges(jobs[i].opts, {
            priority: undefined,
            delay: 0,
            timestamp: now.getTime() + jobs[i].opts.delay,
          }),
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
    await this.fair?.remove([taskId]);
  }
}

/**
 * BullMQ's custom backoff for tasks: our exponential with full jitter. Under fair sharing the job is parked instead,
 * and the worker puts it in its tenant's lane for after the delay (taskRetryDelay), so a retry waits without holding
 * a slot and is admitted like any other job.
 */
export const taskBackoffStrategy =
  (policy: BackoffPolicy, parked = false) =>
  (attemptsMade: number): number =>
    parked ? FairQueue.parked().delay : taskRetryDelay(attemptsMade, policy);

export const taskRetryDelay = (attemptsMade: number, policy: BackoffPolicy): number =>
  backoffDelay(attemptsMade, policy);
