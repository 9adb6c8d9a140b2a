import { DelayedError, type Job } from 'bullmq';
import type { JobPayloads } from '@baton/contracts';
import { metrics, type Logger } from '@baton/observability';
import { PermanentJobError } from '@baton/queue';
import type { TaskContext } from './task-handler';
import { describeFailure, isFinalFailure, type HandlerRegistry } from './task.rules';
import type { Attempt, TaskStore } from './task.store';

export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
}

/**
 * An attempt's abort: its AbortController is made when first needed (the handler reads its signal, a timeout fires, a
 * cancel comes), so the many attempts that need none (a `noop`, any handler that ignores the signal) never make one.
 */
class AttemptAbort {
  private controller?: AbortController;

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  abort(reason: Error): void {
    (this.controller ??= new AbortController()).abort(reason);
  }

  /** Why it was aborted; undefined when it was not. */
  get reason(): unknown {
    return this.controller?.signal.reason as unknown;
  }
}

const PROGRESS_EVERY_MS = 250;
/** When Postgres cannot be read or written, the job waits this long and runs again, without using an attempt. */
export const STORE_RETRY_MS = 2_000;
/**
 * An attempt's `running` state is written once it has run this long, or as soon as it reports progress or a log line.
 * Shorter attempts go from queued straight to their outcome in one write: half the row updates for short tasks, at
 * the price of a status read showing `queued` for the first 100 ms of a run.
 */
export const RUNNING_WRITE_AFTER_MS = 100;

/**
 * Runs one task job. The task row decides: a terminal task's job is dropped (a duplicate enqueue, a cancel);
 * otherwise its handler runs under a timeout and a cancel signal, and the outcome is written with a conditional
 * update, so a task finishes once however often its job runs.
 */
export class TaskRunner {
  private readonly running = new Map<string, AttemptAbort>();

  constructor(
    private readonly store: TaskStore,
    private readonly handlers: HandlerRegistry,
    private readonly log: Logger,
    /** A running task writes its heartbeat this often; when it stops, the task is reported stuck. */
    private readonly heartbeatMs = 10_000,
  ) {}

  /** Called for every cancel signal any API process publishes. */
  cancel(taskId: string): void {
    this.running.get(taskId)?.abort(new TaskCancelledError('task cancelled'));
  }

  async process(job: Job<JobPayloads['task.run']>, token?: string): Promise<unknown> {
    const { taskId } = job.data;
    let task;
    try {
      task = await this.store.claim(taskId);
    } catch (error) {
      return this.postpone(job, token, error);
    }
    if (!task) return { skipped: 'task is no longer pending' };
    const handler = this.handlers.get(task.handler);
    if (!handler) throw new PermanentJobError(`unknown handler ${task.handler}`, 'unknown_handler');
    metrics.enqueueToStart.observe(
      { queue: 'tasks' },
      Math.max(0, Date.now() - job.timestamp - (job.delay ?? 0)) / 1000,
    );

    const attempt: Attempt = { task, number: task.attempts + 1, startedAt: new Date() };
    let runningWrite: Promise<boolean> | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let ended = false;
    // The heartbeat starts with the running state: a task still queued in Postgres has nothing to report stuck.
    const markRunning = (): Promise<boolean> => {
      if (runningWrite) return runningWrite;
      runningWrite = this.store.markRunning(attempt);
      if (!ended) {
        heartbeat = setInterval(
          () =>
            void runningWrite!
              .then(() => this.store.heartbeat(taskId))
              .catch((err: unknown) => this.log.warn({ taskId, err }, 'heartbeat not written')),
          this.heartbeatMs,
        );
      }
      return runningWrite;
    };
    const abort = new AttemptAbort();
    this.running.set(taskId, abort);
    const timers = [
      setTimeout(
        () => void markRunning().catch((err: unknown) => this.log.warn({ taskId, err }, 'running state not written')),
        RUNNING_WRITE_AFTER_MS,
      ),
      task.timeoutMs ? setTimeout(() => abort.abort(timeoutError(task.timeoutMs!)), task.timeoutMs) : undefined,
    ];
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await handler.run(task.payload, this.context(attempt, abort, job, markRunning)) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      ended = true;
      for (const t of timers) clearTimeout(t);
      clearInterval(heartbeat);
      this.running.delete(taskId);
    }
    if (!outcome.ok && abort.reason instanceof TaskCancelledError) return { cancelled: true };
    await this.settle(runningWrite);
    const seconds = (Date.now() - attempt.startedAt.getTime()) / 1000;
    metrics.runDuration.observe({ queue: 'tasks', outcome: outcome.ok ? 'succeeded' : 'failed' }, seconds);
    if (outcome.ok) {
      // If the outcome cannot be written (Postgres away), the job runs again later: handlers run at least once.
      await this.store
        .succeed(attempt, outcome.result ?? null)
        .catch((error: unknown) => this.postpone(job, token, error));
      return { ok: true };
    }
    await this.recordFailure(job, attempt, outcome.error).catch((error: unknown) => this.postpone(job, token, error));
    throw outcome.error;
  }

  /**
   * Postgres is away (or failed the statement): the job goes back to the delayed set and runs again later, with its
   * attempts untouched, so an outage of the system of record never fails accepted work for good.
   */
  private async postpone(job: Job, token: string | undefined, error: unknown): Promise<never> {
    if (!token) throw error;
    this.log.warn({ taskId: job.id, jobId: job.id, err: error }, 'task store unavailable; the job runs again later');
    await job.moveToDelayed(Date.now() + STORE_RETRY_MS, token);
    throw new DelayedError();
  }

  /** The running write, if one started, lands before the outcome: the outcome is the last word. */
  private async settle(write: Promise<boolean> | undefined): Promise<void> {
    await write?.catch(() => false);
  }

  private async recordFailure(job: Job<JobPayloads['task.run']>, attempt: Attempt, error: unknown): Promise<void> {
    const taskId = attempt.task.id;
    const failure = describeFailure(error, attempt.number);
    const ids = { taskId, tenantId: job.data.tenantId, jobId: job.id, requestId: job.data.requestId };
    if (isFinalFailure(error, job.attemptsMade + 1, job.opts.attempts ?? 1)) {
      await this.store.fail(attempt, failure, { queue: job.queueName, jobName: job.name, data: job.data });
      metrics.deadLetters.inc({ kind: 'task' });
      this.log.warn({ ...ids, error: failure }, 'task failed for good');
    } else {
      await this.store.retrying(attempt, failure);
      metrics.retries.inc({ queue: 'tasks' });
      this.log.info({ ...ids, error: failure }, 'task attempt failed; retrying');
    }
  }

  private context(attempt: Attempt, abort: AttemptAbort, job: Job, markRunning: () => Promise<boolean>): TaskContext {
    const taskId = attempt.task.id;
    let lastProgressAt = 0;
    let lastPercent = -1;
    return {
      taskId,
      tenantId: attempt.task.tenantId,
      attempt: attempt.number,
      get signal() {
        return abort.signal;
      },
      progress: async (percent) => {
        const value = Math.max(0, Math.min(100, Math.floor(percent)));
        const now = Date.now();
        if (value === lastPercent || (now - lastProgressAt < PROGRESS_EVERY_MS && value < 100)) return;
        lastProgressAt = now;
        lastPercent = value;
        await markRunning();
        await Promise.all([this.store.progress(taskId, value), job.updateProgress(value)]);
      },
      log: async (message, level = 'info') => {
        await markRunning();
        await this.store.appendLog(taskId, level, message);
      },
    };
  }
}

function timeoutError(ms: number): Error {
  const error = new Error(`task timed out after ${ms} ms`);
  error.name = 'TimeoutError';
  return error;
}
