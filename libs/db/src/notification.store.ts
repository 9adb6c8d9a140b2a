import type { Pool } from 'pg';
import { newId, SYSTEM_TENANT_ID } from '@baton/core';
import type {
  AttemptResult,
  DeadLetterNote,
  DeliveryRecord,
  DeliveryView,
  DeliveryWork,
  NotificationStore,
  OutboxEvent,
  ResolveTargets,
  SubscriptionInput,
  SubscriptionRule,
  SubscriptionView,
} from '@baton/notifications';
import { displayTarget, parseNotify } from '@baton/notifications';
import { Prisma, type PrismaClient } from './prisma';
import { DELIVERY_COLUMNS, notifyOfSubjects } from './notification.sql';
import { inTransaction } from './pg-transaction';

const RESPONSE_MAX = 2_000;

type SubRow = {
  id: string;
  tenantId: string;
  events: string[];
  channel: string;
  url: string | null;
  emails: string[];
  createdAt: Date;
};

const subscriptionView = (s: SubRow): SubscriptionView => ({
  id: s.id,
  events: s.events,
  channel: s.channel,
  ...(s.channel === 'webhook' && s.url ? { url: s.url } : {}),
  ...(s.channel === 'email' ? { email: s.emails } : {}),
  createdAt: s.createdAt.toISOString(),
});

type DeliveryViewRow = DeliveryRecord & { type: string; subjectType: string; subjectId: string };

const deliveryView = (d: DeliveryViewRow): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  type: d.type,
  subject: { type: d.subjectType, id: d.subjectId },
  channel: d.channel,
  target: displayTarget(d.channel, d.target),
  subscriptionId: d.subscriptionId ?? undefined,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatusCode ?? undefined,
  lastError: d.lastError ?? undefined,
  lastResponse: d.lastResponse ?? undefined,
  nextRetryAt: d.status === 'pending' && d.nextAttemptAt ? d.nextAttemptAt.toISOString() : undefined,
  deliveredAt: d.deliveredAt?.toISOString(),
  createdAt: d.createdAt.toISOString(),
});

const clip = (s: string | undefined, n = RESPONSE_MAX): string | null => (s === undefined ? null : s.slice(0, n));

/** The outbox, its deliveries and the tenants' subscriptions, on Postgres. */
export class PrismaNotificationStore implements NotificationStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {}

  async dispatch(limit: number, resolve: ResolveTargets): Promise<{ events: number; deliveries: DeliveryRecord[] }> {
    return inTransaction(this.pool, async (client) => {
      // SKIP LOCKED: dispatchers running side by side take different rows; none waits for another.
      const { rows: events } = await client.query<OutboxEvent>(
        `SELECT id, tenant_id AS "tenantId", type, subject_type AS "subjectType", subject_id AS "subjectId", payload,
                created_at AS "createdAt"
         FROM notification_events WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (events.length === 0) return { events: 0, deliveries: [] };
      const notify = await notifyOfSubjects(client, events);
      // Events of no tenant (system-wide alerts) go to the system tenant's subscriptions: the operators'.
      const owner = (e: OutboxEvent): string => e.tenantId ?? SYSTEM_TENANT_ID;
      const tenants = [...new Set(events.map(owner))];
      const { rows: subs } = await client.query<SubscriptionRule & { tenantId: string }>(
        `SELECT id, tenant_id AS "tenantId", events, channel, url, emails FROM notification_subscriptions
         WHERE tenant_id = ANY($1::text[]) AND deleted_at IS NULL ORDER BY id`,
        [tenants],
      );
      const rows = events.flatMap((event) =>
        resolve(
          event,
          notify.get(`${event.subjectType}:${event.subjectId}`) ?? null,
          subs.filter((s) => s.tenantId === owner(event)),
        ).map((t) => ({
          id: newId('delivery'),
          event_id: event.id,
          tenant_id: event.tenantId,
          channel: t.channel,
          target: t.target,
          subscription_id: t.subscriptionId,
        })),
      );
      const { rows: deliveries } = await client.query<DeliveryRecord>(
        `INSERT INTO notification_deliveries AS d (id, event_id, tenant_id, channel, target, subscription_id, next_attempt_at)
         SELECT id, event_id, tenant_id, channel, target, subscription_id, now()
         FROM json_to_recordset($1::json)
           AS d(id text, event_id text, tenant_id text, channel text, target text, subscription_id text)
         ON CONFLICT (event_id, channel, target) DO NOTHING RETURNING ${DELIVERY_COLUMNS}`,
        [JSON.stringify(rows)],
      );
      await client.query(`UPDATE notification_events SET dispatched_at = now() WHERE id = ANY($1::text[])`, [
        events.map((e) => e.id),
      ]);
      return { events: events.length, deliveries };
    });
  }

  async load(deliveryId: string): Promise<DeliveryWork | null> {
    const { rows } = await this.pool.query<
      DeliveryRecord & {
        event: OutboxEvent;
        subSecret: string | null;
        subDeleted: boolean | null;
        budgetStart: number;
      }
    >(
      `SELECT ${DELIVERY_COLUMNS},
         json_build_object('id', e.id, 'tenantId', e.tenant_id, 'type', e.type, 'subjectType', e.subject_type,
                           'subjectId', e.subject_id, 'payload', e.payload, 'createdAt', e.created_at) AS event,
         s.secret AS "subSecret", s.deleted_at IS NOT NULL AS "subDeleted",
         COALESCE((SELECT max(attempts) FROM dead_letters dl
                   WHERE dl.kind = 'delivery' AND dl.subject_id = d.id), 0) AS "budgetStart"
       FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id
       LEFT JOIN notification_subscriptions s ON s.id = d.subscription_id
       WHERE d.id = $1`,
      [deliveryId],
    );
    const row = rows[0];
    if (!row) return null;
    const { event: rawEvent, subSecret, subDeleted, budgetStart, ...delivery } = row;
    const event: OutboxEvent = { ...rawEvent, createdAt: new Date(rawEvent.createdAt) };
    let secret = subSecret;
    if (!delivery.subscriptionId && delivery.channel === 'webhook') {
      const notify = await notifyOfSubjects(this.pool, [event]);
      secret = parseNotify(notify.get(`${event.subjectType}:${event.subjectId}`)).webhook?.secret ?? null;
    }
    return {
      delivery,
      event,
      secret,
      subscriptionActive: delivery.subscriptionId === null || subDeleted === false,
      budgetStart,
    };
  }

  async recordAttempt(
    id: string,
    attempts: number,
    result: AttemptResult,
    next: { status: 'delivered' } | { status: 'pending'; nextAttemptAt: Date } | { status: 'cancelled' },
  ): Promise<boolean> {
    const changed = await this.prisma.$executeRaw`
      UPDATE notification_deliveries
      SET status = ${next.status}, attempts = ${attempts}, last_status_code = ${result.statusCode ?? null},
          last_response = ${clip(result.response)}, last_error = ${clip(result.error)},
          next_attempt_at = ${next.status === 'pending' ? next.nextAttemptAt : null},
          delivered_at = ${next.status === 'delivered' ? new Date() : null}
      WHERE id = ${id} AND status = 'pending'`;
    return changed > 0;
  }

  async deadLetter(id: string, attempts: number, result: AttemptResult, note: DeadLetterNote): Promise<boolean> {
    const error = { code: 'delivery_failed', message: result.error ?? 'failed', statusCode: result.statusCode ?? null };
    const changed = await this.prisma.$executeRaw`
      WITH changed AS (
        UPDATE notification_deliveries
        SET status = 'failed', attempts = ${attempts}, last_status_code = ${result.statusCode ?? null},
            last_response = ${clip(result.response)}, last_error = ${clip(result.error)}, next_attempt_at = NULL
        WHERE id = ${id} AND status = 'pending' RETURNING id, tenant_id
      )
      INSERT INTO dead_letters (id, tenant_id, kind, subject_id, queue, job_name, data, error, attempts)
      SELECT ${newId('deadLetter')}, tenant_id, 'delivery', id, ${note.queue}, ${note.jobName},
             ${JSON.stringify(note.data ?? null)}::jsonb, ${JSON.stringify(error)}::jsonb, ${attempts}
      FROM changed ON CONFLICT (kind, subject_id, attempts) DO NOTHING`;
    return changed > 0;
  }

  async reopen(id: string): Promise<DeliveryRecord | null> {
    const rows = await this.prisma.$queryRaw<DeliveryRecord[]>`
      UPDATE notification_deliveries d SET status = 'pending', next_attempt_at = now()
      WHERE id = ${id} AND status = 'failed' RETURNING ${Prisma.raw(DELIVERY_COLUMNS)}`;
    return rows[0] ?? null;
  }

  overdue(cutoff: Date, afterId: string | undefined, limit: number): Promise<DeliveryRecord[]> {
    return this.prisma.$queryRaw<DeliveryRecord[]>`
      SELECT ${Prisma.raw(DELIVERY_COLUMNS)} FROM notification_deliveries d
      WHERE status = 'pending' AND next_attempt_at < ${cutoff} AND id > ${afterId ?? ''}
      ORDER BY id LIMIT ${limit}`;
  }

  /**
   * Deletes up to `limit` events dispatched before `cutoff` whose deliveries are all settled (delivered, failed or
   * cancelled), with those deliveries; returns how many events. Undispatched or still pending ones are kept.
   */
  async purgeBefore(cutoff: Date, limit: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM notification_events WHERE id IN (
        SELECT e.id FROM notification_events e
        WHERE e.dispatched_at IS NOT NULL AND e.created_at < ${cutoff}
          AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
        LIMIT ${limit})`;
  }

  async createSubscription(input: SubscriptionInput): Promise<SubscriptionView> {
    const row = await this.prisma.notificationSubscription.upsert({
      where: { id: input.id },
      create: input,
      update: {},
    });
    return subscriptionView(row);
  }

  async listSubscriptions(
    tenantId: string | null,
    beforeId: string | undefined,
    limit: number,
  ): Promise<SubscriptionView[]> {
    const rows = await this.prisma.notificationSubscription.findMany({
      where: { deletedAt: null, ...(tenantId ? { tenantId } : {}), ...(beforeId ? { id: { lt: beforeId } } : {}) },
      orderBy: { id: 'desc' },
      take: limit,
    });
    return rows.map(subscriptionView);
  }

  async deleteSubscription(id: string, tenantId: string | null): Promise<boolean> {
    const { count } = await this.prisma.notificationSubscription.updateMany({
      where: { id, deletedAt: null, ...(tenantId ? { tenantId } : {}) },
      data: { deletedAt: new Date() },
    });
    return count > 0;
  }

  async listDeliveries(
    filter: { subjectId?: string; deliveryId?: string; tenantId: string | null },
    beforeId: string | undefined,
    limit: number,
  ): Promise<DeliveryView[]> {
    const where = [Prisma.sql`TRUE`];
    if (filter.subjectId) where.push(Prisma.sql`e.subject_id = ${filter.subjectId}`);
    if (filter.deliveryId) where.push(Prisma.sql`d.id = ${filter.deliveryId}`);
    if (filter.tenantId) where.push(Prisma.sql`d.tenant_id = ${filter.tenantId}`);
    if (beforeId) where.push(Prisma.sql`d.id < ${beforeId}`);
    const rows = await this.prisma.$queryRaw<DeliveryViewRow[]>`
      SELECT ${Prisma.raw(DELIVERY_COLUMNS)}, e.type, e.subject_type AS "subjectType", e.subject_id AS "subjectId"
      FROM notification_deliveries d JOIN notification_events e ON e.id = d.event_id
      WHERE ${Prisma.join(where, ' AND ')} ORDER BY d.id DESC LIMIT ${limit}`;
    return rows.map(deliveryView);
  }
}
