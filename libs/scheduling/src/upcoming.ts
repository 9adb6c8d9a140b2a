import { formatLocal } from './local-time';
import { fireTimesAfter, type ScheduleTiming } from './schedule.timing';

export interface UpcomingRun {
  /** The instant the run fires for (its scheduledFor), in UTC. */
  at: Date;
  /** The same instant as ISO 8601 local time with its offset in the schedule's zone. */
  local: string;
}

/** The next `count` runs after `now`: exactly the instants the scheduler will fire, from the same function. */
export function upcoming(timing: ScheduleTiming, now: Date, count: number): UpcomingRun[] {
  return fireTimesAfter(timing, now, count).map((at) => ({ at, local: formatLocal(at, timing.timezone) }));
}
