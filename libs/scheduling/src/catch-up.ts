import { fireTimeBefore, fireTimesAfter, type ScheduleTiming } from './schedule.timing';

export type CatchUpPolicy = 'none' | 'latest' | 'all';

export interface CatchUpInput {
  policy: CatchUpPolicy;
  /** At most this many runs fire at once (1–1000); the newest are kept. */
  maxRuns: number;
  /** The last instant the schedule fired (or dropped) a run for; absent before its first run. */
  lastScheduledFor?: Date;
  /** With no lastScheduledFor, instants from here on are due. */
  createdAt: Date;
  now: Date;
  /** A run due at most this long ago is on time, not missed: it fires whatever the policy. */
  graceMs: number;
}

export interface CatchUpPlan {
  /** The instants to fire runs for now (each run's scheduledFor), oldest first. */
  fireNow: Date[];
  /** The newest due instant, fired or dropped: store it as lastScheduledFor. Null when nothing was due. */
  caughtUpTo: Date | null;
  /** True when some due instants will never get a run (policy none or latest, or more than maxRuns). */
  dropped: boolean;
  /** The next instant after now, or null when the schedule has no more. */
  nextAt: Date | null;
}

/**
 * What to fire after the scheduler was down or the schedule paused: the instants due in (lastScheduledFor, now].
 * - none: only runs that are on time (within graceMs), so a slow tick is not mistaken for downtime;
 * - latest: one run, for the newest due instant;
 * - all: each due instant, at most maxRuns, oldest first. Past the cap the newest are kept: after a long outage
 *   the recent runs matter most, and the schedule is then caught up rather than still a week behind.
 * Walks back from now one fire time at a time, never from the last run forward, so a schedule firing every second
 * for a week of downtime costs at most maxRuns + 1 steps, not 600,000.
 */
export function catchUp(timing: ScheduleTiming, input: CatchUpInput): CatchUpPlan {
  const since = input.lastScheduledFor?.getTime() ?? input.createdAt.getTime() - 1;
  const now = input.now.getTime();
  const isDue = (t: Date | null): t is Date => t !== null && t.getTime() > since;
  const limit = input.policy === 'latest' ? 1 : input.maxRuns;
  const onTimeFrom = input.policy === 'none' ? now - input.graceMs : -Infinity;

  const newest = fireTimeBefore(timing, new Date(now + 1));
  const fireNow: Date[] = [];
  let t = newest;
  while (isDue(t) && t.getTime() >= onTimeFrom && fireNow.length < limit) {
    fireNow.unshift(t);
    t = fireTimeBefore(timing, t);
  }
  return {
    fireNow,
    caughtUpTo: isDue(newest) ? newest : null,
    dropped: isDue(t),
    nextAt: fireTimesAfter(timing, input.now, 1)[0] ?? null,
  };
}
