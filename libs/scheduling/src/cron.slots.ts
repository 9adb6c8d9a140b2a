import type { CronSpec } from './cron.parse';

/**
 * Search in wall time (local date and time written as if UTC, see zone.ts) for the times a cron expression matches.
 * Time zones play no part here: cron.fire.ts turns the wall times found into instants. Each step jumps a whole
 * field to its next allowed value, so a search costs a few steps per day crossed, never one per second.
 */
const SECOND = 1000;
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;
// A parsed expression matches at least once every 8 years (February 29 alone, across a century that skips a leap
// year), a few thousand steps; the cap only ends a search that has run off the calendar.
const MAX_STEPS = 100_000;

const utc = (y: number, month: number, day: number, h = 0, mi = 0, s = 0): number =>
  Date.UTC(y, month - 1, day, h, mi, s);
const atLeast = (values: readonly number[], v: number): number | undefined => values.find((x) => x >= v);
const atMost = (values: readonly number[], v: number): number | undefined => values.findLast((x) => x <= v);

function fields(t: number): [number, number, number, number, number, number] {
  const d = new Date(t);
  return [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ];
}

function dayMatches(spec: CronSpec, y: number, month: number, day: number): boolean {
  const byMonthDay = spec.daysOfMonth.includes(day);
  const byWeekday = spec.daysOfWeek.includes(new Date(utc(y, month, day)).getUTCDay());
  if (spec.dayOfMonthRestricted && spec.dayOfWeekRestricted) return byMonthDay || byWeekday;
  return byMonthDay && byWeekday; // an unrestricted field allows every day
}

/** The first wall time at or after `from` (rounded up to the second) that the expression matches. */
export function nextSlot(spec: CronSpec, from: number): number | null {
  let t = Math.ceil(from / SECOND) * SECOND;
  for (let step = 0; step < MAX_STEPS; step++) {
    const [y, mo, day, h, mi, s] = fields(t);
    if (y > MAX_YEAR) return null;
    const month = atLeast(spec.months, mo);
    if (month !== mo) {
      t = month === undefined ? utc(y + 1, spec.months[0], 1) : utc(y, month, 1);
      continue;
    }
    if (!dayMatches(spec, y, mo, day)) {
      t = utc(y, mo, day + 1);
      continue;
    }
    const hour = atLeast(spec.hours, h);
    if (hour !== h) {
      t = hour === undefined ? utc(y, mo, day + 1) : utc(y, mo, day, hour);
      continue;
    }
    const minute = atLeast(spec.minutes, mi);
    if (minute !== mi) {
      t = minute === undefined ? utc(y, mo, day, h + 1) : utc(y, mo, day, h, minute);
      continue;
    }
    const second = atLeast(spec.seconds, s);
    if (second !== s) {
      t = second === undefined ? utc(y, mo, day, h, mi + 1) : utc(y, mo, day, h, mi, second);
      continue;
    }
    return t;
  }
  return null;
}

/** The last wall time at or before `upTo` (rounded down to the second) that the expression matches. */
export function previousSlot(spec: CronSpec, upTo: number): number | null {
  let t = Math.floor(upTo / SECOND) * SECOND;
  for (let step = 0; step < MAX_STEPS; step++) {
    const [y, mo, day, h, mi, s] = fields(t);
    if (y < MIN_YEAR) return null;
    // Each miss moves to the last second of the latest period that can still match.
    const month = atMost(spec.months, mo);
    if (month !== mo) {
      t = (month === undefined ? utc(y, 1, 1) : utc(y, month + 1, 1)) - SECOND;
      continue;
    }
    if (!dayMatches(spec, y, mo, day)) {
      t = utc(y, mo, day) - SECOND;
      continue;
    }
    const hour = atMost(spec.hours, h);
    if (hour !== h) {
      t = (hour === undefined ? utc(y, mo, day) : utc(y, mo, day, hour + 1)) - SECOND;
      continue;
    }
    const minute = atMost(spec.minutes, mi);
    if (minute !== mi) {
      t = (minute === undefined ? utc(y, mo, day, h) : utc(y, mo, day, h, minute + 1)) - SECOND;
      continue;
    }
    const second = atMost(spec.seconds, s);
    if (second !== s) {
      t = second === undefined ? utc(y, mo, day, h, mi) - SECOND : utc(y, mo, day, h, mi, second);
      continue;
    }
    return t;
  }
  return null;
}
