import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsTime, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { hostname } from 'node:os';
import { ALL_QUEUES, GPU_QUEUES, QUEUES, type JobPayloads, type QueueName } from '@baton/contracts';
import { lanePriority, type FairQueue } from '@baton/fairness';
import { bullmqTelemetry, metrics } from '@baton/observability';
import { collectHandlers, createRedis, housekeepingEvery, PermanentJobError, type HandlerMap } from '@baton/queue';
import { registerWorker, type Registration, type Runtime } from '@baton/runtime';
import { scheduleRepeatStrategy } from '@baton/schedules';
import { TASK_JOB_RETENTION, taskBackoffStrategy, taskRetryDelay } from '@baton/tasks';
import { BatchProcessor } from './processors/batch.processor';
import { MaintenanceProcessor } from './processors/maintenance.processor';
import { NotificationProcessor } from './processors/notification.processor';
import { ScheduleProcessor } from './processors/schedule.processor';
import { TaskProcessor } from './processors/task.processor';
import { RUNTIME } from './tokens';

/** How often finished history past its retention is purged. */
const PURGE_EVERY_MS = 3600_000;

/** Which queues this process consumes: WORKER_QUEUES is `all` or a comma list of queue names. */
export function parseWorkerQueues(value: string): QueueName[] {
  if (value.trim() === 'all') return ALL_QUEUES.filter((q) => !GPU_QUEUES.includes(q));
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !ALL_QUEUES.includes(n as QueueName) || GPU_QUEUES.includes(n as QueueName));
  if (unknown.length > 0)
    throw new Error(
      `invalid setting WORKER_QUEUES: unknown queue(s) ${unknown.join(', ')}; known: ${ALL_QUEUES.join(', ')}`,
    );
  return names as QueueName[];
}

/** Per-queue worker settings. */
function queueSettings(queue: QueueName, config: Runtime['config']): Partial<WorkerOptions> {
  switch (queue) {
    case QUEUES.tasks:
      return { concurrency: config.TASK_CONCURRENCY, ...TASK_JOB_RETENTION };
    case QUEUES.cluster:
      return {
        concurrency: config.CLUSTER_CONCURRENCY,
        // A crashed worker's steps resume after this; a step that waits holds no lock (it is delayed, not active).
        lockDuration: config.CLUSTER_LOCK_MS,
        stalledInterval: config.CLUSTER_LOCK_MS,
        // An item lives for hours across many activations: a few stalls (crashes) must not fail it.
        maxStalledCount: 3,
        // Present so that a cluster 429 can pause the whole queue (queue.rateLimit); the bound itself never binds.
        limiter: { max: 1_000_000_000, duration: 1000 },
      };
    case QUEUES.batches:
      return { concurrency: 4 };
    case QUEUES.schedules:
      return { concurrency: config.SCHEDULE_CONCURRENCY };
    case QUEUES.notifications:
      // Deliveries wait on receivers: many at once, and a stopped worker's delivery is taken over after NOTIFY_LOCK_MS.
      return {
        concurrency: config.NOTIFY_CONCURRENCY,
        lockDuration: config.NOTIFY_LOCK_MS,
        stalledInterval: config.NOTIFY_LOCK_MS,
      };
    default:
      return { concurrency: 1 };
  }
}

/** One BullMQ worker per consumed queue, dispatching each job to the handler registered for its name. */
@Injectable()
export class QueueWorkers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly workers: Worker[] = [];
  private readonly connections: (Redis | Cluster)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private registration?: Registration;
  /** Fair dispatchers this process takes part in, with the id its capacity is declared under. */
  private readonly fairIds = new Map<FairQueue, string>();

  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    private readonly tasks: TaskProcessor,
    private readonly batches: BatchProcessor,
    private readonly maintenance: MaintenanceProcessor,
    private readonly notifications: NotificationProcessor,
    private readonly schedules: ScheduleProcessor,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { config, log } = this.runtime;
    const queues = parseWorkerQueues(config.WORKER_QUEUES);
    const handlers = collectHandlers(
      [this.tasks, this.batches, this.maintenance, this.notifications, this.schedules],
      queues,
    );
    for (const queue of queues) this.workers.push(this.startWorker(queue, handlers));
    if (queues.includes(QUEUES.maintenance)) {
      await this.scheduleMaintenance();
      // The schedule itself lives in Redis: after a flush or a failover to an empty replica it would be gone, and
      // with it the reconciler that repairs such losses. Re-asserting it is idempotent and cheap.
      this.timers.push(
        setInterval(() => void this.scheduleMaintenance().catch(() => undefined), config.RECONCILE_INTERVAL_MS),
      );
    }
    if (queues.includes(QUEUES.notifications)) {
      await this.notifications.schedule();
      this.timers.push(
        setInterval(() => void this.notifications.schedule().catch(() => undefined), config.RECONCILE_INTERVAL_MS),
      );
    }
    if (queues.includes(QUEUES.schedules)) {
      await this.scheduleSweeps();
      this.timers.push(
        setInterval(() => void this.scheduleSweeps().catch(() => undefined), config.RECONCILE_INTERVAL_MS),
      );
    }
    if (queues.includes(QUEUES.tasks)) await this.listenForCancels();
    this.registration = await registerWorker(this.runtime, 'worker', queues);
    log.info({ queues, workerId: this.registration.id }, 'worker started');
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.fairIds].map(([fair, id]) => fair.stop(id)));
    await this.registration?.stop();
    // close() waits for active jobs; bounded by the caller's shutdown grace.
    await Promise.all(this.workers.map((w) => w.close()));
    for (const c of this.connections) c.disconnect();
  }

  private startWorker(queue: QueueName, handlers: HandlerMap): Worker {
    const { config, log } = this.runtime;
    // Pipelined: BullMQ sends its blocking wait on a connection of its own (a duplicate), so this one carries only
    // short commands, and the completions of jobs that end together share one socket write.
    const connection = this.connection(`worker:${queue}`, true);
    const worker = new Worker(
      queue,
      (job: Job, token?: string) => {
        const handler = handlers.get(job.name as never);
        if (!handler) throw new PermanentJobError(`no handler for job ${job.name}`);
        return handler(job, token);
      },
      {
        connection,
        prefix: config.QUEUE_PREFIX,
        // Per-minute completion and failure counts kept in Redis: jobs/s for operators and Retry-After estimates.
        metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
        telemetry: bullmqTelemetry(),
        ...queueSettings(queue, config),
        settings: {
          // Fire times of schedules come from our rules (libs/scheduling), not from BullMQ's cron parser.
          repeatStrategy: scheduleRepeatStrategy,
          // With fair sharing the retry waits in the tenant's lane (see joinFairDispatch), parked meanwhile.
          backoffStrategy: taskBackoffStrategy(this.backoffPolicy(), !!this.runtime.fair.tasks),
        },
      },
    );
    worker.on('error', (err) => log.error({ queue, err }, 'queue worker error'));
    // Emitted by whichever worker's stall check finds the job: counted once, wherever the lease was lost.
    worker.on('stalled', () => metrics.stalled.inc({ queue }));
    this.joinFairDispatch(queue, worker);
    return worker;
  }

  /**
   * On a fair-shared queue this worker frees a job's slot when the job ends for good, re-lanes a task that waits to be
   * retried (its backoff is spent waiting for admission, not holding a slot), and declares its concurrency.
   */
  private joinFairDispatch(queue: QueueName, worker: Worker): void {
    const fair = this.runtime.fair[queue as keyof Runtime['fair']];
    if (!fair) return;
    const { config } = this.runtime;
    // A task's retry waits its backoff in the lane, without its slot; other queues' retries keep theirs.
    const relane = (job: Job) => {
      const data = job.data as JobPayloads['task.run'];
      const readyAt = Date.now() + taskRetryDelay(job.attemptsMade, this.backoffPolicy());
      void fair
        .requeue({
          jobId: job.id!,
          tenantId: data.tenantId,
          priority: lanePriority(job),
          readyAt,
        })
        .catch((err: unknown) => this.runtime.log.warn({ jobId: job.id, err }, 'retry not re-laned; the audit will'));
    };
    fair.attach(worker, queue === QUEUES.tasks ? relane : undefined);
    const id = `${hostname()}:${process.pid}:${queue}`;
    this.fairIds.set(fair, id);
    fair.start(id, queueSettings(queue, config).concurrency ?? 1);
  }

  private backoffPolicy() {
    const { config } = this.runtime;
    return { baseMs: config.TASK_BACKOFF_BASE_MS, maxMs: config.TASK_BACKOFF_MAX_MS, jitter: 'full' as const };
  }

  private async scheduleMaintenance(): Promise<void> {
    const queue = this.runtime.producer.queue(QUEUES.maintenance);
    await queue.upsertJobScheduler(
      'reconcile',
      { every: this.runtime.config.RECONCILE_INTERVAL_MS },
      { name: 'maintenance.reconcile', data: {} },
    );
    await queue.upsertJobScheduler('purge', { every: PURGE_EVERY_MS }, { name: 'maintenance.purge', data: {} });
  }

  /**
   * The schedules queue's own rhythm: settle runs and watch deadlines; repair job schedulers; check alerts. The
   * frequent ones run off the whole second, where schedules fire (housekeepingEvery).
   */
  private async scheduleSweeps(): Promise<void> {
    const queue = this.runtime.scheduleQueue.queue;
    const { config } = this.runtime;
    const opts = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };
    await queue.upsertJobScheduler('sweep', housekeepingEvery(config.SCHEDULE_SWEEP_INTERVAL_MS), {
      name: 'schedule.sweep',
      data: {},
      opts,
    });
    await queue.upsertJobScheduler(
      'reconcile',
      { every: config.RECONCILE_INTERVAL_MS },
      { name: 'schedule.reconcile', data: {}, opts },
    );
    await queue.upsertJobScheduler('alerts', housekeepingEvery(config.ALERT_WATCH_INTERVAL_MS), {
      name: 'alerts.watch',
      data: {},
      opts,
    });
  }

  private async listenForCancels(): Promise<void> {
    const subscriber = this.connection('cancel-subscriber');
    subscriber.on('message', (_channel: string, taskId: string) => this.tasks.runner.cancel(taskId));
    await subscriber.subscribe(this.runtime.cancelChannel);
  }

  private connection(name: string, pipelining = false): Redis | Cluster {
    const connection = createRedis(this.runtime.redisTarget, { blocking: true, name, pipelining });
    connection.on('error', () => undefined); // ioredis reconnects; BullMQ reports through 'error' above
    this.connections.push(connection);
    return connection;
  }
}
