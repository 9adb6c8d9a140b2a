import type { AlertKind } from './alert.rules';

export interface AlertRecord {
  id: string;
  tenantId: string | null;
  kind: string;
  subject: string;
  message: string;
  raisedAt: Date;
  resolvedAt: Date | null;
}

/** The alert as GET /v1/alerts returns it (API.md) and as alert.raised / alert.resolved events carry it. */
export interface AlertView {
  id: string;
  kind: string;
  subject: string;
  message: string;
  raisedAt: string;
  resolvedAt?: string;
  tenantId?: string;
}

export const toAlertView = (a: AlertRecord): AlertView => ({
  id: a.id,
  kind: a.kind,
  subject: a.subject,
  message: a.message,
  raisedAt: a.raisedAt.toISOString(),
  resolvedAt: a.resolvedAt?.toISOString(),
  tenantId: a.tenantId ?? undefined,
});

/**
 * Alerts in the system of record. At most one alert is open per kind and subject (a unique key): raising an open
 * alert again does nothing, resolving a resolved one does nothing, so watchers may call both on every tick.
 */
export interface AlertSink {
  /** Opens the alert, with its alert.raised event; false when one is already open. */
  raise(alert: { tenantId: string | null; kind: AlertKind; subject: string; message: string }): Promise<boolean>;
  /** Resolves the open alert, with its alert.resolved event; false when none is open. */
  resolve(kind: AlertKind, subject: string, tenantId?: string | null): Promise<boolean>;
  /** Subjects of the open alerts of a kind. */
  openSubjects(kind: AlertKind): Promise<string[]>;
}
