import { metrics, type Logger } from '@baton/observability';
import { eventBody } from './events';
import { renderEmail } from './email';
import type { MailSender } from './mail.sender';
import type { AlertSink, DeadLetterNote, DeliveryWork, NotificationStore } from './notification.store';
import { nextStep, type AttemptResult, type DeliveryPolicy } from './retry';
import { displayTarget, webhookHeaders } from './webhook';
import { sendWebhook, type WebhookSenderOptions } from './webhook.sender';

export const DELIVERY_FAILING = 'delivery_failing';

export type DeliverOutcome =
  | { kind: 'skipped'; reason: string }
  | { kind: 'delivered'; attempts: number }
  | { kind: 'retry'; attempts: number; at: Date }
  /** Not due yet (enqueued early by the reconciler): run again at `at`. */
  | { kind: 'early'; at: Date }
  | { kind: 'dead'; attempts: number };

export interface DelivererOptions {
  policy: DeliveryPolicy;
  webhook: WebhookSenderOptions;
  /** Null when SMTP_URL is not set. */
  mail: MailSender | null;
  /** Base of the links in emails. */
  apiBaseUrl: string;
}

/** The alert subject of a failing target: its subscription, or the target itself. */
export const alertSubject = (w: Pick<DeliveryWork, 'delivery'>): string =>
  w.delivery.subscriptionId ?? `${w.delivery.channel}:${displayTarget(w.delivery.channel, w.delivery.target)}`;

/**
 * Makes one attempt of one delivery and records what follows: delivered, retry after a delay, or dead letter and a
 * `delivery_failing` alert. The delivery row decides, so a job run twice (a stalled worker, a reconciler's re-enqueue)
 * never sends a delivered one again; an attempt whose outcome was not recorded (a crash mid-request) is made again,
 * with the same `webhook-id`: at least once.
 */
export class NotificationDeliverer {
  constructor(
    private readonly store: NotificationStore,
    private readonly alerts: AlertSink,
    private readonly opts: DelivererOptions,
    private readonly log: Logger,
  ) {}

  async deliver(deliveryId: string, note: DeadLetterNote, now = new Date()): Promise<DeliverOutcome> {
    const work = await this.store.load(deliveryId);
    if (!work) return { kind: 'skipped', reason: 'delivery not found' };
    const { delivery } = work;
    if (delivery.status === 'failed') {
      // A crash between the dead letter and the alert: raising again is a no-op while the alert is open.
      await this.raiseAlert(work);
      return { kind: 'skipped', reason: 'delivery failed for good' };
    }
    if (delivery.status !== 'pending') return { kind: 'skipped', reason: `delivery is ${delivery.status}` };
    if (delivery.nextAttemptAt && delivery.nextAttemptAt.getTime() > now.getTime() + 50)
      return { kind: 'early', at: delivery.nextAttemptAt };
    const attempts = delivery.attempts + 1;
    if (!work.subscriptionActive) {
      const why = { ok: false, error: 'subscription deleted' };
      await this.store.recordAttempt(delivery.id, delivery.attempts, why, { status: 'cancelled' });
      metrics.notificationDeliveries.inc({ channel: delivery.channel, outcome: 'cancelled' });
      return { kind: 'skipped', reason: 'subscription deleted' };
    }
    const started = Date.now();
    const result = await this.attempt(work, now);
    metrics.runDuration.observe(
      { queue: 'notifications', outcome: result.ok ? 'succeeded' : 'failed' },
      (Date.now() - started) / 1000,
    );
    const step = nextStep(result, attempts - work.budgetStart, this.opts.policy);
    const ids = { deliveryId: delivery.id, eventId: delivery.eventId, tenantId: delivery.tenantId, attempts };
    const where = displayTarget(delivery.channel, delivery.target);
    switch (step.kind) {
      case 'delivered':
        await this.store.recordAttempt(delivery.id, attempts, result, { status: 'delivered' });
        metrics.notificationDeliveries.inc({ channel: delivery.channel, outcome: 'delivered' });
        metrics.notificationLatency.observe(
          { channel: delivery.channel },
          Math.max(0, Date.now() - work.event.createdAt.getTime()) / 1000,
        );
        // The target works again: a delivery_failing alert on it (raised by this or another delivery) is resolved.
        await this.alerts.resolve(DELIVERY_FAILING, alertSubject(work), delivery.tenantId);
        this.log.info({ ...ids, channel: delivery.channel, status: result.statusCode }, 'notification delivered');
        return { kind: 'delivered', attempts };
      case 'retry': {
        // From the end of this attempt, which may have waited for its timeout.
        const nextAttemptAt = new Date(Date.now() + step.delayMs);
        await this.store.recordAttempt(delivery.id, attempts, result, { status: 'pending', nextAttemptAt });
        metrics.retries.inc({ queue: 'notifications' });
        metrics.notificationDeliveries.inc({ channel: delivery.channel, outcome: 'retried' });
        this.log.info(
          { ...ids, target: where, status: result.statusCode, error: result.error, delayMs: step.delayMs },
          'notification attempt failed; retrying',
        );
        return { kind: 'retry', attempts, at: nextAttemptAt };
      }
      case 'dead':
        await this.store.deadLetter(delivery.id, attempts, result, note);
        metrics.deadLetters.inc({ kind: 'delivery' });
        metrics.notificationDeliveries.inc({ channel: delivery.channel, outcome: 'dead' });
        await this.raiseAlert(work, result);
        this.log.warn({ ...ids, target: where, status: result.statusCode, error: result.error }, 'notification dead');
        return { kind: 'dead', attempts };
    }
  }

  private async attempt(work: DeliveryWork, now: Date): Promise<AttemptResult> {
    const { delivery, event } = work;
    if (delivery.channel === 'webhook') {
      if (!work.secret) return { ok: false, permanent: true, error: 'the signing secret is gone' };
      const body = JSON.stringify(eventBody(event));
      return sendWebhook(delivery.target, webhookHeaders(work.secret, event.id, now, body), body, this.opts.webhook);
    }
    if (delivery.channel === 'email') {
      if (!this.opts.mail) return { ok: false, permanent: true, error: 'email is not configured (SMTP_URL)' };
      const mail = renderEmail(event, { apiBaseUrl: this.opts.apiBaseUrl });
      return this.opts.mail.send(delivery.target, mail, {
        'X-Baton-Event-Id': event.id,
        'X-Baton-Event-Type': event.type,
      });
    }
    return { ok: false, permanent: true, error: `unknown channel ${delivery.channel}` };
  }

  private async raiseAlert(work: DeliveryWork, result?: AttemptResult): Promise<void> {
    const { delivery, event } = work;
    const why = result ? `: ${result.error ?? `answered ${result.statusCode}`}` : '';
    await this.alerts.raise({
      tenantId: delivery.tenantId,
      kind: DELIVERY_FAILING,
      subject: alertSubject(work),
      message: `${event.type} ${event.subjectId} to ${delivery.channel} ${displayTarget(delivery.channel, delivery.target)} failed after ${delivery.attempts + (result ? 1 : 0)} attempts${why}; dead letter kept for replay`,
    });
  }
}
