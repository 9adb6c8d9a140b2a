import { notFound, validationFailed, type ErrorDetail } from '@baton/core';
import type { Logger } from '@baton/observability';
import type { DeliveryQueue } from './dispatcher';
import { EVENT_TYPES, isEventType } from './events';
import type { DeliveryView, NotificationStore, SubscriptionView } from './notification.store';
import { prepareNotify, type NotifyCheckOptions, type NotifySpec } from './notify';

/** The body of POST /v1/subscriptions: one channel, and the event types it wants (none: all). */
export interface CreateSubscriptionInput {
  events?: unknown;
  webhook?: unknown;
  email?: unknown;
}

export type SubscriptionCreated = SubscriptionView & { secret?: string };

function checkEvents(value: unknown): { events: string[]; errors: ErrorDetail[] } {
  if (value === undefined) return { events: [], errors: [] };
  if (!Array.isArray(value))
    return { events: [], errors: [{ field: 'events', message: 'must be a list of event types' }] };
  const errors: ErrorDetail[] = [];
  value.forEach((v, i) => {
    if (!isEventType(v)) errors.push({ field: `events[${i}]`, message: `must be one of ${EVENT_TYPES.join(', ')}` });
  });
  return { events: [...new Set(value as string[])], errors };
}

/** The notification use cases the API calls: subscriptions, `notify` checks, delivery reads, replays. */
export class NotificationService {
  constructor(
    private readonly store: NotificationStore,
    private readonly queue: DeliveryQueue,
    private readonly checks: NotifyCheckOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Validates a `notify` of a create request (batch, task, inference job, schedule) and fills in a signing secret where
   * the webhook has none; throws validation_failed naming each bad field.
   */
  async prepareNotify(input: unknown): Promise<{ notify: NotifySpec | null; generatedSecret?: string }> {
    const { notify, generatedSecret, errors } = await prepareNotify(input, this.checks);
    if (errors.length > 0) throw validationFailed(errors);
    return { notify, generatedSecret };
  }

  /** A tenant-level default subscription. Its secret is in this answer only (given or generated). */
  async subscribe(tenantId: string, id: string, input: CreateSubscriptionInput): Promise<SubscriptionCreated> {
    const events = checkEvents(input.events);
    const { webhook, email } = input;
    const channels = (webhook !== undefined ? 1 : 0) + (email !== undefined ? 1 : 0);
    const errors = [...events.errors];
    if (channels !== 1) errors.push({ field: 'webhook', message: 'give exactly one of webhook or email' });
    const prepared = await prepareNotify({ webhook, email }, this.checks, '');
    errors.push(...prepared.errors);
    if (errors.length > 0 || !prepared.notify) throw validationFailed(errors);
    const hook = prepared.notify.webhook;
    const view = await this.store.createSubscription({
      id,
      tenantId,
      events: events.events,
      channel: hook ? 'webhook' : 'email',
      url: hook?.url ?? null,
      secret: hook?.secret ?? null,
      emails: prepared.notify.email ?? [],
    });
    this.log.info({ tenantId, subscriptionId: id, channel: view.channel }, 'subscription created');
    return hook ? { ...view, secret: hook.secret } : view;
  }

  listSubscriptions(tenantId: string | null, beforeId: string | undefined, limit: number): Promise<SubscriptionView[]> {
    return this.store.listSubscriptions(tenantId, beforeId, limit);
  }

  async unsubscribe(id: string, tenantId: string | null): Promise<void> {
    if (!(await this.store.deleteSubscription(id, tenantId))) throw notFound('subscription');
  }

  deliveries(
    filter: { subjectId?: string; deliveryId?: string; tenantId: string | null },
    beforeId: string | undefined,
    limit: number,
  ): Promise<DeliveryView[]> {
    return this.store.listDeliveries(filter, beforeId, limit);
  }

  /**
   * Sends a dead-lettered delivery again, with a fresh attempt budget and the same event id (so the same `webhook-id`).
   * Null when the delivery is not failed.
   */
  async replay(deliveryId: string): Promise<DeliveryView | null> {
    const delivery = await this.store.reopen(deliveryId);
    if (!delivery) return null;
    await this.queue
      .requeue(delivery)
      .catch((err: unknown) =>
        this.log.warn({ deliveryId, err }, 'replayed delivery stored but not enqueued; the reconciler will enqueue it'),
      );
    const [view] = await this.store.listDeliveries({ tenantId: null, deliveryId }, undefined, 1);
    return view ?? null;
  }
}
