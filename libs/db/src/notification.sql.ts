import type { Pool, PoolClient } from 'pg';

/** Columns of a DeliveryRecord (table alias d). */
export const DELIVERY_COLUMNS = `d.id, d.event_id AS "eventId", d.tenant_id AS "tenantId", d.channel, d.target,
  d.subscription_id AS "subscriptionId", d.status, d.attempts, d.last_status_code AS "lastStatusCode",
  d.last_error AS "lastError", d.last_response AS "lastResponse", d.next_attempt_at AS "nextAttemptAt",
  d.delivered_at AS "deliveredAt", d.created_at AS "createdAt"`;

/**
 * Where each kind of subject keeps its `notify`. Batches, inference jobs and schedule runs (their schedule's notify)
 * need nothing more than writing their outbox event with this subject type.
 */
const NOTIFY_SOURCES: Record<string, string> = {
  task: 'SELECT id, notify FROM tasks WHERE id = ANY($1::text[])',
  batch: 'SELECT id, notify FROM batches WHERE id = ANY($1::text[])',
  inference: 'SELECT id, notify FROM inference_jobs WHERE id = ANY($1::text[])',
  inference_job: 'SELECT id, notify FROM inference_jobs WHERE id = ANY($1::text[])',
  schedule: 'SELECT id, notify FROM schedules WHERE id = ANY($1::text[])',
  run: `SELECT r.id, s.notify FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
        WHERE r.id = ANY($1::text[])`,
  schedule_run: `SELECT r.id, s.notify FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
                 WHERE r.id = ANY($1::text[])`,
};

/** The `notify` JSON of each event's subject, keyed "subjectType:subjectId" (absent when it has none). */
export async function notifyOfSubjects(
  db: Pool | PoolClient,
  events: { subjectType: string; subjectId: string }[],
): Promise<Map<string, unknown>> {
  const byType = new Map<string, string[]>();
  for (const e of events) {
    if (!NOTIFY_SOURCES[e.subjectType]) continue;
    byType.set(e.subjectType, [...(byType.get(e.subjectType) ?? []), e.subjectId]);
  }
  const out = new Map<string, unknown>();
  for (const [type, ids] of byType) {
    const { rows } = await db.query<{ id: string; notify: unknown }>(NOTIFY_SOURCES[type], [[...new Set(ids)]]);
    for (const r of rows) if (r.notify !== null) out.set(`${type}:${r.id}`, r.notify);
  }
  return out;
}

/**
 * SQL that is true when an event of `eventType` about a subject would reach anyone: the subject has its own `notify`
 * (`notify`, an expression), or its tenant (`tenantId`, an expression) has a live subscription to that type (or to
 * every type). Hot paths write an outbox event only then: an event no one receives would cost its insert, the
 * dispatcher's read and its update, for nothing. A subscription is looked up when the event would be written, in the
 * same statement as the transition, so one created before a task ends hears of it. This is the SQL side of the rule
 * that `resolveTargets` (libs/notifications) applies when the event is dispatched: change the two together.
 */
export function hasAudience(notify: string, tenantId: string, eventType: string): string {
  return `((${notify} IS NOT NULL AND ${notify} <> 'null'::jsonb) OR EXISTS (
    SELECT 1 FROM notification_subscriptions s
    WHERE s.tenant_id = ${tenantId} AND s.deleted_at IS NULL
      AND (cardinality(s.events) = 0 OR '${eventType}' = ANY(s.events))))`;
}
