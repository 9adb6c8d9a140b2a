import { Queue, type RepeatOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { QUEUES, type JobPayloads } from '@baton/contracts';
import { fireTimesAfter } from '@baton/scheduling';
import { decodePattern, encodePattern, fireAheadOf, timingGroupOf } from './schedule.pattern';
import { timingOf } from './schedule.rules';
import type { ScheduleStore } from './schedule.store';
import type { ScheduleRecord } from './schedule.types';

/**
 * BullMQ's repeat strategy for schedules: when the next fire job comes due, or none (the schedule has ended).
 * `millis` is when the job just taken was picked up (BullMQ passes the later of now and its due time), or now on an
 * upsert. The next job is for the first instant after `millis + lead` and is due `lead` (the fire-ahead) before it:
 * the job just taken covers every instant up to `millis + lead` (its handler waits until then, see
 * ScheduleRunner.fire), so none is skipped and none is covered twice. An upsert (no `count` yet: no job covers
 * anything) makes the first job for the first instant after now, due at once if that is less than `lead` away.
 */
export function scheduleRepeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (!opts.pattern) return undefined;
  const lead = fireAheadOf(opts.pattern);
  const coveredUpTo = opts.count === undefined ? millis : millis + lead;
  const next = fireTimesAfter(timingOf(decodePattern(opts.pattern)), new Date(coveredUpTo), 1)[0];
  return next ? Math.max(millis, next.getTime() - lead) : undefined;
}

/**
 * What a job scheduler's job covers: `instant`, the fire time it was made for, and `horizon`, the time up to which it
 * must fire: its pick-up time plus the fire-ahead, since the next job is for the first instant after that
 * (scheduleRepeatStrategy). A job is due `lead` before its instant (BullMQ's prevMillis), except the first one of a
 * scheduler (`count` 1), which may be due at once: its instant is the first fire time from its due time.
 */
export function fireWindowOf(
  prevMillis: number,
  pickedUpAt: number,
  repeat: { pattern?: string; count?: number } | undefined,
): { instant: Date; horizon: Date } {
  const lead = repeat?.pattern ? fireAheadOf(repeat.pattern) : 0;
  const horizon = new Date(Math.max(prevMillis, pickedUpAt) + lead);
  if (repeat?.pattern && repeat.count === 1) {
    const first = fireTimesAfter(timingOf(decodePattern(repeat.pattern)), new Date(prevMillis - 1), 1)[0];
    if (first && first <= horizon) return { instant: first, horizon };
  }
  return { instant: new Date(prevMillis + lead), horizon };
}

/** Fire jobs keep a little history in Redis for Bull Board; the run history lives in Postgres. */
const FIRE_JOB_OPTS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 500 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/**
 * One BullMQ job scheduler per timing group (see timingGroupOf) on the `schedules` queue: its fire job fires every
 * active member of the group (ScheduleRunner.fireGroup), each by its own catch-up and overlap policy, so a thousand
 * schedules with the same timing cost one job activation per instant, not a thousand. Membership is the schedules'
 * `timing_group` column in Postgres, read when the job runs; Redis holds only the rhythm. Each fire job comes due
 * `fireAheadMs` before its instant, so that picking it up, reading the members and the worker's own scheduling of
 * the next iteration happen before the instant, and the runs fire on it (the runner waits for the instant).
 */
export class ScheduleQueue {
  readonly queue: Queue;

  constructor(
    connection: Redis | Cluster,
    prefix: string,
    private readonly fireAheadMs = 0,
  ) {
    this.queue = new Queue(QUEUES.schedules, {
      connection,
      prefix,
      settings: { repeatStrategy: scheduleRepeatStrategy },
    });
    this.queue.on('error', () => undefined); // surfaced through readiness, not crashes
  }

  /**
   * Makes sure an active schedule's group has its job scheduler. An existing one with the same pattern is left
   * alone: upserting it again would replace its pending job, and an instant due in the fire-ahead could be lost for
   * every member. A paused or deleted schedule simply stops being a member (see release).
   */
  async sync(s: ScheduleRecord): Promise<void> {
    if (s.paused || s.deletedAt || !s.nextRunAt) return;
    const group = timingGroupOf(s);
    const pattern = this.pattern(s);
    if ((await this.scheduled(group)) === pattern) return;
    const data: JobPayloads['schedule.fire'] = { timingGroup: group };
    await this.queue.upsertJobScheduler(group, { pattern }, { name: 'schedule.fire', data, opts: FIRE_JOB_OPTS });
  }

  /**
   * Removes a group's job scheduler once it has no active member (its last one paused, deleted or moved to another
   * timing). A member that becomes active meanwhile has committed before its own sync, and its sync either runs after
   * the removal (and puts the scheduler back) or ran before it, and then the second look finds it.
   */
  async release(group: string, store: Pick<ScheduleStore, 'activeInTimingGroup'>): Promise<void> {
    const activeMember = async () => (await store.activeInTimingGroup(group, 1))[0];
    if (await activeMember()) return;
    await this.queue.removeJobScheduler(group);
    const member = await activeMember();
    if (member) await this.sync(member);
  }

  /** The pattern this schedule's group scheduler carries. */
  pattern(s: ScheduleRecord): string {
    return encodePattern(s, this.fireAheadMs);
  }

  /** Removes a job scheduler by id: a group's, or a per-schedule one from before timing groups (id = schedule id). */
  async remove(schedulerId: string): Promise<void> {
    await this.queue.removeJobScheduler(schedulerId);
  }

  /** A firing now, outside the job scheduler's rhythm: a resumed schedule catches up on what it missed. */
  async catchUp(s: ScheduleRecord): Promise<void> {
    const data: JobPayloads['schedule.fire'] = { scheduleId: s.id, tenantId: s.tenantId };
    await this.queue.add('schedule.fire', data, { ...FIRE_JOB_OPTS, jobId: `catchup-${s.id}-${s.version}` });
  }

  /** The pattern a job scheduler holds, or null when Redis has none with this id (a timing group). */
  async scheduled(schedulerId: string): Promise<string | null> {
    const scheduler = await this.queue.getJobScheduler(schedulerId);
    return scheduler?.pattern ?? null;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
