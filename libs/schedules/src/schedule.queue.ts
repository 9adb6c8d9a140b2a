import { Queue, type RepeatOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type JobPayloads } from '@baton/contracts';
import { fireTimesAfter } from '@baton/scheduling';
import { timingOf, type TimingFields } from './schedule.rules';
import type { ScheduleRecord } from './schedule.types';

/**
 * A schedule's timing, carried in a job scheduler's `pattern`: BullMQ stores it and hands it back to the repeat
 * strategy, so our rules (IANA zones, the DST policy, fixed rates anchored at startAt, bounds) decide every fire time,
 * not BullMQ's cron parser.
 */
interface PatternFields {
  k: TimingFields['kind'];
  c?: string;
  z: string;
  n?: number;
  r?: number;
  s?: number;
  e?: number;
  a: number;
}

export function encodePattern(s: TimingFields): string {
  const p: PatternFields = { k: s.kind, z: s.timezone, a: s.createdAt.getTime() };
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

/** BullMQ's repeat strategy for schedules: the first fire time strictly after `millis`, or none (the end). */
export function scheduleRepeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (!opts.pattern) return undefined;
  return fireTimesAfter(timingOf(decodePattern(opts.pattern)), new Date(millis), 1)[0]?.getTime();
}

/** Fire jobs keep a little history in Redis for Bull Board; the run history lives in Postgres. */
const FIRE_JOB_OPTS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 500 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/** One BullMQ job scheduler per active schedule, id = schedule id, on the `schedules` queue. */
export class ScheduleQueue {
  readonly queue: Queue;

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue(QUEUES.schedules, {
      connection,
      prefix,
      settings: { repeatStrategy: scheduleRepeatStrategy },
    });
    this.queue.on('error', () => undefined); // surfaced through readiness, not crashes
  }

  /** Makes Redis match the schedule: a job scheduler while it is active, none while paused or deleted. */
  async sync(s: ScheduleRecord): Promise<void> {
    if (s.paused || s.deletedAt || !s.nextRunAt) {
      await this.remove(s.id);
      return;
    }
    const data: JobPayloads['schedule.fire'] = { scheduleId: s.id, tenantId: s.tenantId };
    await this.queue.upsertJobScheduler(
      s.id,
      { pattern: encodePattern(s) },
      { name: 'schedule.fire', data, opts: FIRE_JOB_OPTS },
    );
  }

  async remove(scheduleId: string): Promise<void> {
    await this.queue.removeJobScheduler(scheduleId);
  }

  /** A firing now, outside the job scheduler's rhythm: a resumed schedule catches up on what it missed. */
  async catchUp(s: ScheduleRecord): Promise<void> {
    const data: JobPayloads['schedule.fire'] = { scheduleId: s.id, tenantId: s.tenantId };
    await this.queue.add('schedule.fire', data, { ...FIRE_JOB_OPTS, jobId: `catchup-${s.id}-${s.version}` });
  }

  /** The pattern a scheduler holds, or null when Redis has none for this schedule. */
  async scheduled(scheduleId: string): Promise<string | null> {
    const scheduler = await this.queue.getJobScheduler(scheduleId);
    return scheduler?.pattern ?? null;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
