import type { Job } from 'bullmq';

import type { JobPayloads } from '@baton/contracts';
import { metrics, type Logger } from '@baton/observability';
import { PermanentJobError } from '@baton/queue';
import type { TaskContext } from './task-handler';
import { describeFailure, isFinalFailure, type HandlerRegistry } from './task.rules';
import type { TaskStore } from './task.store';
import type { TaskRecord } from './task.types';

export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
}

const PROGRESS_EVERY_MS = 250;

/**
 * Runs one task job. The task row decides: a terminal task's job is dropped (a duplicate enqueue, a cancel);
 * otherwise it is marked running, its handler runs under a timeout and a cancel signal, and the outcome is written
 * with a conditional update, so a task finishes once however often its job runs.
 */
export class TaskRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly store: TaskStore,
    private readonly handlers: HandlerRegistry,
    private readonly log: Logger,
  ) {}

  /** Called for every cancel signal any API process publishes. */
  cancel(taskId: string): void {
    this.running.get(taskId)?.abort(new TaskCancelledError('task cancelled'));
  }

  async process(job: Job<JobPayloads['task.run']>): Promise<unknown> {
    const { taskId } = job.data;
    const task = await this.store.start(taskId);
    if (!task) return { skipped: 'task is no longer pending' };
    const handler = this.handlers.get(task.handler);
    if (!handler) throw new PermanentJobError(`unknown handler ${task.handler}`, 'unknown_handler');
    metrics.enqueueToStart.observe(
      { queue: 'tasks' },
      Math.max(0, Date.now() - job.timestamp - (job.delay ?? 0)) / 1000,
    );

    const controller = new AbortController();
    this.running.set(taskId, controller);
    const timer = task.timeoutMs
      ? setTimeout(() => controller.abort(timeoutError(task.timeoutMs!)), task.timeoutMs)
      : undefined;
    const started = Date.now();
    try {
      const result = await handler.run(
        task.payload,
        this.context(task.id, task.tenantId, task.attempts, controller.signal, job),
      );
      await this.store.succeed(task, result ?? null);
      metrics.runDuration.observe({ queue: 'tasks', outcome: 'succeeded' }, (Date.now() - started) / 1000);
      return { ok: true };
    } catch (error) {
      if (controller.signal.reason instanceof TaskCancelledError) return { cancelled: true };
      metrics.runDuration.observe({ queue: 'tasks', outcome: 'failed' }, (Date.now() - started) / 1000);
      await this.recordFailure(job, task, error);
      throw error;
    } finally {
      clearTimeout(timer);
      this.running.delete(taskId);
    }
  }

  private async recordFailure(job: Job<JobPayloads['task.run']>, task: TaskRecord, error: unknown): Promise<void> {
    const taskId = task.id;
    const failure = describeFailure(error, task.attempts);
    const maxAttempts = job.opts.attempts ?? 1;
    if (isFinalFailure(error, job.attemptsMade + 1, maxAttempts)) {
      await this.store.fail(task, failure, { queue: job.queueName, jobName: job.name, data: job.data });
      metrics.deadLetters.inc({ kind: 'task' });
      this.log.warn({ taskId, tenantId: job.data.tenantId, jobId: job.id, error: failure }, 'task failed for good');
    } else {
      await this.store.retrying(taskId, failure);
      metrics.retries.inc({ queue: 'tasks' });
      this.log.info(
        { taskId, tenantId: job.data.tenantId, jobId: job.id, error: failure },
        'task attempt failed; retrying',
      );
    }
  }

  private context(taskId: string, tenantId: string, attempt: number, signal: AbortSignal, job: Job): TaskContext {
    let lastProgressAt = 0;
    let lastPercent = -1;
    return {
      taskId,
      tenantId,
      attempt,
      signal,
      progress: async (percent) => {
        const value = Math.max(0, Math.min(100, Math.floor(percent)));
        const now = Date.now();
        if (value === lastPercent || (now - lastProgressAt < PROGRESS_EVERY_MS && value < 100)) return;
        lastProgressAt = now;
        lastPercent = value;
        await Promise.all([this.store.progress(taskId, value), job.updateProgress(value)]);
      },
      log: (message, level = 'info') => this.store.appendLog(taskId, level, message),
    };
  }
}

function timeoutError(ms: number): Error {
  const error = new Error(`task timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}
