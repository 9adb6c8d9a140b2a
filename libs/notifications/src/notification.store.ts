import type { OutboxEvent } from './events';
import type { DeliveryTarget, SubscriptionRule } from './notify';
import type { AttemptResult } from './retry';

/** pending → delivered | failed (dead-lettered; a replay makes it pending again) | cancelled (subscription deleted). */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface DeliveryRecord {
  id: string;
  eventId: string;
  tenantId: string | null;
  channel: string;
  target: string;
  subscriptionId: string | null;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponse: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** A delivery with what an attempt needs. */
export interface DeliveryWork {
  delivery: DeliveryRecord;
  event: OutboxEvent;
  /** The signing secret (subscription's or the object's own notify); null when gone. */
  secret: string | null;
  /** False when its subscription was deleted since: the delivery is then cancelled. */
  subscriptionActive: boolean;
  /**
   * Attempts made before the current budget began: a pending delivery with dead letters was replayed, and each replay
   * starts a new budget (read from its dead letters, so it holds even before the replay is marked on the letter).
   */
  budgetStart: number;
}

/** What the dispatcher reads per event: the subject's `notify` and the tenant's subscriptions. */
export type ResolveTargets = (
  event: OutboxEvent,
  notify: unknown,
  subscriptions: SubscriptionRule[],
) => DeliveryTarget[];

export interface DeadLetterNote {
  queue: string;
  jobName: string;
  data: unknown;
}

export interface SubscriptionInput {
  id: string;
  tenantId: string;
  events: string[];
  channel: 'webhook' | 'email';
  url: string | null;
  secret: string | null;
  emails: string[];
}

/** A subscription as the API shows it: never its secret. */
export interface SubscriptionView {
  id: string;
  events: string[];
  channel: string;
  url?: string;
  email?: string[];
  createdAt: string;
}

/** A delivery as GET /v1/notifications shows it. */
export interface DeliveryView {
  id: string;
  /** The event id: the `webhook-id` header of every attempt. */
  eventId: string;
  type: string;
  subject: { type: string; id: string };
  channel: string;
  target: string;
  subscriptionId?: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  lastResponse?: string;
  nextRetryAt?: string;
  deliveredAt?: string;
  createdAt: string;
}

/** What notifications need from the system of record. Each transition is conditional on the current state. */
export interface NotificationStore {
  /**
   * Takes up to `limit` undispatched events (skipping those another dispatcher holds), writes one delivery per target,
   * and marks them dispatched, in one transaction: a crash leaves either all of it or none.
   */
  dispatch(limit: number, resolve: ResolveTargets): Promise<{ events: number; deliveries: DeliveryRecord[] }>;
  load(deliveryId: string): Promise<DeliveryWork | null>;
  /** Records a failed or successful attempt of a pending delivery; false when it is no longer pending. */
  recordAttempt(
    id: string,
    attempts: number,
    result: AttemptResult,
    next: { status: 'delivered' } | { status: 'pending'; nextAttemptAt: Date } | { status: 'cancelled' },
  ): Promise<boolean>;
  /** pending → failed with a dead letter, in one transaction. */
  deadLetter(id: string, attempts: number, result: AttemptResult, note: DeadLetterNote): Promise<boolean>;
  /** failed → pending with a new budget (a dead-letter replay); null when the delivery is not failed. */
  reopen(id: string): Promise<DeliveryRecord | null>;
  /** Pending deliveries due before `cutoff`, in id order after `afterId`: the reconciler's scan. */
  overdue(cutoff: Date, afterId: string | undefined, limit: number): Promise<DeliveryRecord[]>;
  /** Deletes up to `limit` settled events created before `cutoff`, with their deliveries; returns how many. */
  purgeBefore(cutoff: Date, limit: number): Promise<number>;
  createSubscription(input: SubscriptionInput): Promise<SubscriptionView>;
  listSubscriptions(tenantId: string | null, beforeId: string | undefined, limit: number): Promise<SubscriptionView[]>;
  deleteSubscription(id: string, tenantId: string | null): Promise<boolean>;
  listDeliveries(
    filter: { subjectId?: string; deliveryId?: string; tenantId: string | null },
    beforeId: string | undefined,
    limit: number,
  ): Promise<DeliveryView[]>;
}

/** Alerts as notifications raise and resolve them (AlertStore in libs/db). */
export interface AlertSink {
  raise(alert: { tenantId: string | null; kind: string; subject: string; message: string }): Promise<boolean>;
  resolve(kind: string, subject: string, tenantId?: string | null): Promise<boolean>;
}
