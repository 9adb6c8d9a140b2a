import type { CronSpec } from './cron.parse';
import { nextFireTimes, previousFireTime } from './cron.fire';
import { nextEveryTimes, previousEveryTime } from './fixed-rate';

/** What makes a schedule fire: one of a cron expression, a fixed rate, or a single instant. */
export type ScheduleRule =
  { kind: 'cron'; cron: CronSpec } | { kind: 'every'; everyMs: number; anchor: Date } | { kind: 'once'; runAt: Date };

export interface ScheduleTiming {
  rule: ScheduleRule;
  /** IANA zone: where a cron expression reads wall-clock time, and where fire times are shown as local time. */
  timezone: string;
  /** Bounds for every kind, both inclusive: a schedule fires at instants t with startAt ≤ t ≤ endAt. */
  startAt?: Date;
  endAt?: Date;
}

function checkInstant(d: Date, name: string): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError(`${name} is not a valid date`);
  return t;
}

/**
 * The next `count` instants after `after` (strictly) at which the schedule fires, oldest first. This is the one
 * function that decides fire times: the scheduler's next run and `upcoming` both come from it.
 */
export function fireTimesAfter(timing: ScheduleTiming, after: Date, count: number): Date[] {
  let from = checkInstant(after, 'after');
  if (timing.startAt) from = Math.max(from, checkInstant(timing.startAt, 'startAt') - 1);
  const times = ruleTimesAfter(timing, new Date(from), count);
  const end = timing.endAt?.getTime() ?? Infinity;
  return times.filter((t) => t.getTime() <= end);
}

/** The last instant before `before` (strictly) at which the schedule fires, or null if there is none. */
export function fireTimeBefore(timing: ScheduleTiming, before: Date): Date | null {
  let until = checkInstant(before, 'before');
  if (timing.endAt) until = Math.min(until, checkInstant(timing.endAt, 'endAt') + 1);
  const t = ruleTimeBefore(timing, new Date(until));
  return t && (!timing.startAt || t.getTime() >= timing.startAt.getTime()) ? t : null;
}

function ruleTimesAfter(timing: ScheduleTiming, after: Date, count: number): Date[] {
  const { rule } = timing;
  switch (rule.kind) {
    case 'cron':
      return nextFireTimes(rule.cron, after, count, timing.timezone);
    case 'every':
      return nextEveryTimes(rule.everyMs, rule.anchor, after, count);
    case 'once':
      return count > 0 && rule.runAt.getTime() > after.getTime() ? [rule.runAt] : [];
  }
}

function ruleTimeBefore(timing: ScheduleTiming, before: Date): Date | null {
  const { rule } = timing;
  switch (rule.kind) {
    case 'cron':
      return previousFireTime(rule.cron, before, timing.timezone);
    case 'every':
      return previousEveryTime(rule.everyMs, rule.anchor, before);
    case 'once':
      return rule.runAt.getTime() < before.getTime() ? rule.runAt : null;
  }
}
