import type { CronSpec } from './cron.parse';
import { nextSlot, previousSlot } from './cron.slots';
import { resolveWall, wallAt } from './zone';

/**
 * When a cron expression fires in an IANA zone. The expression picks wall-clock times; each wall-clock time fires
 * once, at the instant resolveWall gives it (API.md's DST rule), and times that land on the same instant fire once:
 * - spring forward: 02:30 on 2026-03-08 in New York does not exist and fires at 03:00 EDT, the first instant after
 *   the gap; `*\/15 * * * *` fires 01:45 EST then 03:00 EDT once (02:00, 02:15, 02:30, 02:45 and 03:00 all land
 *   there), then 03:15.
 * - fall back: 01:30 on 2026-11-01 occurs twice and fires at its first occurrence (EDT) only; `*\/15 * * * *` fires
 *   01:00-01:45 EDT and then 02:00 EST: the repeated hour's slots fire in their first pass, none in the second.
 * We follow wall-clock time rather than absolute time for every expression, sub-daily ones included, so that one
 * rule covers all of them and `upcoming` lists one entry per wall-clock time the expression names. Croner and Vixie
 * cron differ for expressions with a wildcard, step, range or list in the time fields: they run those in both
 * passes of a repeated hour and skip their times in a gap (see cron.crosscheck.spec.ts).
 */
export function nextFireTimes(spec: CronSpec, after: Date, count: number, timeZone = 'UTC'): Date[] {
  const out: Date[] = [];
  let last = after.getTime();
  // Wall times before this one have already fired (they all resolve to instants at or before `after`).
  const start = wallAt(timeZone, last);
  let from = start.repeatEndWall ?? start.wall + 1;
  while (out.length < count) {
    const slot = nextSlot(spec, from);
    if (slot === null) break;
    const resolved = resolveWall(timeZone, slot);
    if (resolved.instant > last) {
      out.push(new Date(resolved.instant));
      last = resolved.instant;
    }
    // The rest of a gap resolves to the same instant, so skip it.
    from = resolved.gap ? Math.max(resolved.gap.endWall, slot + 1) : slot + 1;
  }
  return out;
}

/** The last instant before `before` at which the expression fires in `timeZone`, or null if there is none. */
export function previousFireTime(spec: CronSpec, before: Date, timeZone = 'UTC'): Date | null {
  const limit = before.getTime();
  const end = wallAt(timeZone, limit);
  let upTo = (end.repeatEndWall ?? end.wall) - 1;
  for (;;) {
    const slot = previousSlot(spec, upTo);
    if (slot === null) return null;
    const resolved = resolveWall(timeZone, slot);
    if (resolved.instant < limit) return new Date(resolved.instant);
    // Only a gap ending exactly at `before` gets here: its wall times all fire at `before` itself.
    upTo = resolved.gap ? Math.min(resolved.gap.startWall, slot) - 1 : slot - 1;
  }
}
