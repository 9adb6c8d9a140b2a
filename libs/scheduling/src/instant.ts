// An instant must say where it is: a local time without Z or an offset would be read in the server's zone.
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** A Date from a valid Date or an ISO 8601 instant with Z or an offset; null for anything else. */
export function parseInstant(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value !== 'string') return null;
  const match = ISO_INSTANT.exec(value);
  if (!match) return null;
  const [y, mo, d, h, mi, s, offsetH, offsetM] = match.slice(1).map((x) => Number(x ?? 0));
  // Date rolls 2026-02-30 over to March 2 and 24:00 to the next day: a time that does not exist is a mistake.
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const exists =
    probe.getUTCMonth() === mo - 1 &&
    probe.getUTCDate() === d &&
    probe.getUTCHours() === h &&
    offsetH <= 23 &&
    offsetM <= 59;
  const date = new Date(value);
  return exists && !Number.isNaN(date.getTime()) ? date : null;
}
