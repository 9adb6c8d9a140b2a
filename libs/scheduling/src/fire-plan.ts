import type { CatchUpPolicy } from './catch-up';
import { fireTimeBefore, fireTimesAfter, type ScheduleTiming } from './schedule.timing';
import { MAX_CATCH_UP_RUNS } from './schedule.validate';

export interface FirePlanInput {
  policy: CatchUpPolicy;
  /** At most this many missed instants fire with policy `all` (the newest are kept). */
  maxRuns: number;
  /** The newest instant the schedule fired (or dropped) a run for; absent before its first run. */
  lastScheduledFor?: Date;
  /** With no lastScheduledFor, instants from here on are due. */
  createdAt: Date;
  now: Date;
  /** An instant at most this long before now is on time: it fires whatever the policy. */
  graceMs: number;
  /**
   * The instant a job scheduler's job was made for. It is due even when lastScheduledFor has passed it (a job that
   * stalled and ran again late), and it is never later than `now` for planning (a clock a little ahead). Only a
   * fire time of the schedule counts as one: a job started early or late marks the planning horizon, not a run.
   */
  jobFor?: Date;
}

export interface FirePlan {
  /** The instants to fire runs for now, oldest first. */
  fire: Date[];
  /** The newest due instant, fired or dropped: lastScheduledFor becomes at least this. Null when nothing was due. */
  caughtUpTo: Date | null;
  /** True when some due instants get no run (policy none or latest, or more than maxRuns missed). */
  dropped: boolean;
  /** The next instant after now, or null when the schedule has no more. */
  nextAt: Date | null;
}

/**
 * What one firing of a schedule runs: every instant in (lastScheduledFor, now] that is on time (within graceMs of
 * now) fires; instants older than that were missed (workers down, the schedule paused) and follow the catch-up
 * policy: `none` drops them, `latest` fires the newest one, `all` fires each, at most maxRuns (the newest), oldest
 * first. On-time instants are never collapsed, so a worker a little behind under load does not lose runs.
 * Walks back from now one fire time at a time and stops as soon as the policy needs no older instant, so a
 * one-second schedule after a week of downtime costs a few steps, not 600,000.
 */
export function planFire(timing: ScheduleTiming, input: FirePlanInput): FirePlan {
  const nowMs = Math.max(input.now.getTime(), input.jobFor?.getTime() ?? -Infinity);
  const since = input.lastScheduledFor?.getTime() ?? input.createdAt.getTime() - 1;
  const onTimeFrom = nowMs - input.graceMs;
  const missedLimit = input.policy === 'none' ? 0 : input.policy === 'latest' ? 1 : input.maxRuns;

  const onTime: Date[] = [];
  const missed: Date[] = [];
  const newest = fireTimeBefore(timing, new Date(nowMs + 1));
  let t = newest;
  let dropped = false;
  while (t && t.getTime() > since) {
    if (t.getTime() >= onTimeFrom) {
      if (onTime.length < MAX_CATCH_UP_RUNS) onTime.push(t);
      else dropped = true;
    } else if (missed.length < missedLimit) {
      missed.push(t);
    } else {
      dropped = true;
      break;
    }
    t = fireTimeBefore(timing, t);
  }
  const fire = [...missed, ...onTime];
  const job = input.jobFor;
  const isFireTime = (d: Date): boolean => fireTimeBefore(timing, new Date(d.getTime() + 1))?.getTime() === d.getTime();
  if (job && job.getTime() <= nowMs && !fire.some((d) => d.getTime() === job.getTime()) && isFireTime(job)) {
    if (job.getTime() >= onTimeFrom || missed.length < missedLimit) fire.push(job);
  }
  fire.sort((a, b) => a.getTime() - b.getTime());
  return {
    fire,
    caughtUpTo: newest && newest.getTime() > since ? newest : null,
    dropped,
    nextAt: fireTimesAfter(timing, new Date(nowMs), 1)[0] ?? null,
  };
}
