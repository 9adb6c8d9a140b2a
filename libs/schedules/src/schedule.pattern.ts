import { createHash } from 'node:crypto';
import type { ScheduleRecord } from './schedule.types';

/** The timing fields of a schedule, as the time rules of libs/scheduling take them. */
export type TimingFields = Pick<
  ScheduleRecord,
  'kind' | 'cron' | 'timezone' | 'everyMs' | 'runAt' | 'startAt' | 'endAt' | 'createdAt'
>;

/**
 * A schedule's timing, carried in a job scheduler's `pattern`: BullMQ stores it and hands it back to the repeat
 * strategy, so our rules (IANA zones, the DST policy, fixed rates anchored at startAt, bounds) decide every fire time,
 * not BullMQ's cron parser.
 */
interface PatternFields {
  /** Fire-ahead: jobs come due this many ms before their instant and wait for it (see ScheduleQueue). */
  l?: number;
  k: TimingFields['kind'];
  c?: string;
  z: string;
  n?: number;
  r?: number;
  s?: number;
  e?: number;
  a: number;
}

/**
 * The creation time matters to a schedule's fire times only as the anchor of a fixed rate without startAt; elsewhere
 * it is left out (0), so that schedules with the same timing have the same pattern whenever they were created.
 */
const anchorOf = (s: TimingFields): number => (s.kind === 'every' && !s.startAt ? s.createdAt.getTime() : 0);

export function encodePattern(s: TimingFields, fireAheadMs = 0): string {
  const p: PatternFields = { k: s.kind, z: s.timezone, a: anchorOf(s) };
  if (fireAheadMs > 0) p.l = fireAheadMs;
  if (s.cron) p.c = s.cron;
  if (s.everyMs) p.n = s.everyMs;
  if (s.runAt) p.r = s.runAt.getTime();
  if (s.startAt) p.s = s.startAt.getTime();
  if (s.endAt) p.e = s.endAt.getTime();
  return JSON.stringify(p);
}

export function decodePattern(pattern: string): TimingFields {
  const p = JSON.parse(pattern) as PatternFields;
  const date = (ms: number | undefined): Date | null => (ms === undefined ? null : new Date(ms));
  return {
    kind: p.k,
    cron: p.c ?? null,
    timezone: p.z,
    everyMs: p.n ?? null,
    runAt: date(p.r),
    startAt: date(p.s),
    endAt: date(p.e),
    createdAt: new Date(p.a),
  };
}

/** The fire-ahead a pattern carries (see ScheduleQueue). */
export const fireAheadOf = (pattern: string): number => (JSON.parse(pattern) as PatternFields).l ?? 0;

/**
 * The timing group of a schedule: schedules whose fire times are the same (same cron and zone, or the same fixed rate
 * and anchor, or the same one-off instant; same bounds) share one job scheduler, whose id this is, and so one fire
 * job per instant for all of them. A digest of the timing pattern: short, and equal exactly when the timing is.
 */
export function timingGroupOf(s: TimingFields): string {
  return `timing:${createHash('sha256').update(encodePattern(s)).digest('hex').slice(0, 32)}`;
}
