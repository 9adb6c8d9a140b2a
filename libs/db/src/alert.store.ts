import { newId } from '@baton/core';
import { toAlertView, type AlertKind, type AlertRecord, type AlertSink } from '@baton/alerts';
import { Prisma, type PrismaClient } from './prisma';

const ALERT_COLUMNS = Prisma.raw(`id, tenant_id AS "tenantId", kind, subject, message, raised_at AS "raisedAt",
  resolved_at AS "resolvedAt"`);

/** The open key of an alert: one open alert per kind and subject. */
const openKey = (kind: string, subject: string): string => `${kind}:${subject}`;

/**
 * Alerts, each raised and resolved in one statement with its alert.raised / alert.resolved outbox event. Raising an
 * alert that is open, or resolving one that is not, changes nothing and writes no event.
 */
export class AlertStore implements AlertSink {
  constructor(private readonly prisma: PrismaClient) {}

  async raise(alert: { tenantId: string | null; kind: AlertKind; subject: string; message: string }): Promise<boolean> {
    const id = newId('alert');
    const raisedAt = new Date();
    const view = toAlertView({ ...alert, id, raisedAt, resolvedAt: null });
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      WITH raised AS (
        INSERT INTO alerts (id, tenant_id, kind, subject, message, open_key, raised_at)
        VALUES (${id}, ${alert.tenantId}, ${alert.kind}, ${alert.subject}, ${alert.message.slice(0, 2000)},
                ${openKey(alert.kind, alert.subject)}, ${raisedAt})
        ON CONFLICT (open_key) DO NOTHING RETURNING id
      ), event AS (
        INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
        SELECT ${newId('notification')}, ${alert.tenantId}, 'alert.raised', 'alert', id, ${`alert.raised:${id}`},
               ${JSON.stringify(view)}::jsonb
        FROM raised
      )
      SELECT id FROM raised`;
    return rows.length > 0;
  }

  async resolve(kind: AlertKind, subject: string, tenantId?: string | null): Promise<boolean> {
    const tenantFilter = tenantId ? Prisma.sql`AND tenant_id = ${tenantId}` : Prisma.empty;
    const resolvedAt = new Date();
    const rows = await this.prisma.$queryRaw<AlertRecord[]>`
      WITH resolved AS (
        UPDATE alerts SET resolved_at = ${resolvedAt}, open_key = NULL
        WHERE open_key = ${openKey(kind, subject)} ${tenantFilter}
        RETURNING ${ALERT_COLUMNS}
      ), event AS (
        INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
        SELECT ${newId('notification')}, r."tenantId", 'alert.resolved', 'alert', r.id, 'alert.resolved:' || r.id,
               jsonb_strip_nulls(jsonb_build_object('id', r.id, 'kind', r.kind, 'subject', r.subject,
                 'message', r.message, 'raisedAt', r."raisedAt", 'resolvedAt', r."resolvedAt", 'tenantId', r."tenantId"))
        FROM resolved r
      )
      SELECT * FROM resolved`;
    return rows.length > 0;
  }

  async openSubjects(kind: AlertKind): Promise<string[]> {
    const rows = await this.prisma.alert.findMany({
      where: { kind, resolvedAt: null },
      select: { subject: true },
      take: 10_000,
    });
    return rows.map((r) => r.subject);
  }

  /** Alerts newest first; `beforeId` pages backwards (ids sort by time). */
  async list(
    filter: { tenantId: string | null; state: 'open' | 'resolved' | 'all'; kind?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<AlertRecord[]> {
    return this.prisma.alert.findMany({
      where: {
        ...(filter.tenantId ? { tenantId: filter.tenantId } : {}),
        ...(filter.kind ? { kind: filter.kind } : {}),
        ...(filter.state === 'open'
          ? { resolvedAt: null }
          : filter.state === 'resolved'
            ? { NOT: { resolvedAt: null } }
            : {}),
        ...(beforeId ? { id: { lt: beforeId } } : {}),
      },
      orderBy: { id: 'desc' },
      take: limit,
      select: { id: true, tenantId: true, kind: true, subject: true, message: true, raisedAt: true, resolvedAt: true },
    });
  }
}
