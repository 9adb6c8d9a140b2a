import { newId } from '@baton/core';
import type { PrismaClient } from './prisma';

/**
 * Alerts: at most one open per kind and subject (open_key), and each raise or resolve writes its `alert.raised` or
 * `alert.resolved` outbox event in the same transaction.
 */
export class AlertStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Opens an alert; false when one is already open for this kind and subject. */
  async raise(alert: { tenantId: string | null; kind: string; subject: string; message: string }): Promise<boolean> {
    const id = newId('alert');
    const raisedAt = new Date();
    const view = {
      id,
      kind: alert.kind,
      subject: alert.subject,
      message: alert.message,
      raisedAt: raisedAt.toISOString(),
    };
    const changed = await this.prisma.$executeRaw`
      WITH opened AS (
        INSERT INTO alerts (id, tenant_id, kind, subject, message, open_key, raised_at)
        VALUES (${id}, ${alert.tenantId}, ${alert.kind}, ${alert.subject}, ${alert.message},
                ${`${alert.kind}:${alert.subject}`}, ${raisedAt})
        ON CONFLICT (open_key) DO NOTHING RETURNING id, tenant_id
      )
      INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
      SELECT ${newId('notification')}, tenant_id, 'alert.raised', 'alert', id, ${`alert.raised:${id}`},
             ${JSON.stringify(view)}::jsonb
      FROM opened`;
    return changed > 0;
  }

  /** Closes the open alert of this kind and subject (of this tenant, when given); false when none was open. */
  async resolve(kind: string, subject: string, tenantId?: string | null): Promise<boolean> {
    const resolvedAt = new Date();
    const changed = await this.prisma.$executeRaw`
      WITH closed AS (
        UPDATE alerts SET open_key = NULL, resolved_at = ${resolvedAt}
        WHERE open_key = ${`${kind}:${subject}`} AND (${tenantId ?? null}::text IS NULL OR tenant_id = ${tenantId ?? null})
        RETURNING id, tenant_id, kind, subject, message, raised_at
      )
      INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
      SELECT ${newId('notification')}, tenant_id, 'alert.resolved', 'alert', id, 'alert.resolved:' || id,
             jsonb_build_object('id', id, 'kind', kind, 'subject', subject, 'message', message,
                                'raisedAt', to_char(raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                'resolvedAt', ${resolvedAt.toISOString()}::text)
      FROM closed`;
    return changed > 0;
  }
}
