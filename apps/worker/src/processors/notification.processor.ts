import { Inject, Injectable } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import { QUEUES, type JobPayloads } from '@baton/contracts';
import {
  NotificationDeliverer,
  NotificationDispatcher,
  NotificationQueue,
  smtpMailSender,
  type DeliverOutcome,
} from '@baton/notifications';
import { JobHandler } from '@baton/queue';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../tokens';

/** When Postgres cannot be read or written, a delivery job waits this long and runs again. */
const STORE_RETRY_MS = 2_000;
const KEEP = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };

/** The notifications queue: the outbox sweep, the reconciler of deliveries, and one job per delivery. */
@Injectable()
export class NotificationProcessor {
  private readonly dispatcher: NotificationDispatcher;
  private readonly deliverer: NotificationDeliverer;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    const { config, stores, log } = runtime;
    this.dispatcher = new NotificationDispatcher(stores.notifications, new NotificationQueue(runtime.producer), log);
    this.deliverer = new NotificationDeliverer(
      stores.notifications,
      stores.alerts,
      {
        policy: {
          maxAttempts: config.NOTIFY_MAX_ATTEMPTS,
          backoff: { baseMs: config.NOTIFY_BACKOFF_BASE_MS, maxMs: config.NOTIFY_BACKOFF_MAX_MS, jitter: 'full' },
          retryAfterMaxMs: config.NOTIFY_RETRY_AFTER_MAX_MS,
        },
        webhook: {
          timeoutMs: config.NOTIFY_TIMEOUT_MS,
          maxResponseBytes: 4096,
          allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        },
        mail: config.SMTP_URL
          ? smtpMailSender({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.NOTIFY_TIMEOUT_MS })
          : null,
        apiBaseUrl: config.PUBLIC_URL || `http://localhost:${config.PORT}`,
      },
      log,
    );
  }

  /** The sweep and the reconciler run on BullMQ job schedulers; re-asserting them is idempotent. */
  async schedule(): Promise<void> {
    const queue = this.runtime.producer.queue(QUEUES.notifications);
    const { NOTIFY_DISPATCH_INTERVAL_MS, RECONCILE_INTERVAL_MS } = this.runtime.config;
    await queue.upsertJobScheduler(
      'notify-dispatch',
      { every: NOTIFY_DISPATCH_INTERVAL_MS },
      { name: 'notify.dispatch', data: {}, opts: KEEP },
    );
    await queue.upsertJobScheduler(
      'notify-reconcile',
      { every: RECONCILE_INTERVAL_MS },
      { name: 'notify.reconcile', data: {}, opts: KEEP },
    );
  }

  @JobHandler('notify.dispatch')
  dispatch(): Promise<{ events: number; deliveries: number }> {
    return this.logged('outbox sweep', this.dispatcher.dispatch());
  }

  @JobHandler('notify.reconcile')
  reconcile(): Promise<{ scanned: number; requeued: number }> {
    return this.logged('delivery reconciler', this.dispatcher.reconcile(this.runtime.config.RECONCILE_GRACE_MS));
  }

  /** A sweep that fails is retried by its scheduler; it is logged, not swallowed. */
  private async logged<T>(what: string, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      this.runtime.log.warn({ err }, `${what} failed; the next run tries again`);
      throw err;
    }
  }

  /** One attempt; a retry moves the job back to delayed until the time the delivery row names. */
  @JobHandler('notify.deliver')
  async deliver(job: Job<JobPayloads['notify.deliver']>, token?: string): Promise<DeliverOutcome> {
    let outcome: DeliverOutcome;
    try {
      outcome = await this.deliverer.deliver(job.data.deliveryId, {
        queue: job.queueName,
        jobName: job.name,
        data: job.data,
      });
    } catch (error) {
      if (!token) throw error;
      this.runtime.log.warn({ deliveryId: job.data.deliveryId, err: error }, 'delivery not recorded; runs again later');
      return this.later(job, token, Date.now() + STORE_RETRY_MS);
    }
    if ((outcome.kind === 'retry' || outcome.kind === 'early') && token)
      return this.later(job, token, outcome.at.getTime());
    return outcome;
  }

  private async later(job: Job, token: string, at: number): Promise<never> {
    await job.moveToDelayed(at, token);
    throw new DelayedError();
  }
}
