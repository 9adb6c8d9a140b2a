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

export function encodePattern(s: TimingFields, fireAheadMs = 0): string {
  const p: PatternFields = { k: s.kind, z: s.timezone, a: s.createdAt.getTime() };
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

/**
 * BullMQ's repeat strategy for schedules: when the next fire job comes due, or none (the schedule has ended).
 * `millis` is when the job just taken was picked up (BullMQ passes the later of now and its due time), or now on an
 * upsert. The next job is for the first instant after `millis + lead` and is due `lead` (the fire-ahead) before it:
 * the job just taken covers every instant up to `millis + lead` (its handler waits until then, see
 * ScheduleRunner.fire), so none is skipped and none is covered twice.
 */
export function scheduleRepeatStrategy(millis: number, opts: RepeatOptions): number | undefined {
  if (!opts.pattern) return undefined;
  const lead = fireAheadOf(opts.pattern);
  const next = fireTimesAfter(timingOf(decodePattern(opts.pattern)), new Date(millis + lead), 1)[0];
  return next ? next.getTime() - lead : undefined;
}

const fireAheadOf = (pattern: string): number => (JSON.parse(pattern) as PatternFields).l ?? 0;

/**
 * What a job scheduler's job covers: `instant`, the fire time it was made for (its due time, BullMQ's prevMillis,
 * plus the fire-ahead), and `horizon`, the time up to which it must fire: its pick-up time plus the fire-ahead,
 * since the next job is for the first instant after that (scheduleRepeatStrategy).
 */
export function fireWindowOf(
  prevMillis: number,
  pickedUpAt: number,
  pattern: string | undefined,
): { instant: Date; horizon: Date } {
  const lead = pattern ? fireAheadOf(pattern) : 0;
  return { instant: new Date(prevMillis + lead), horizon: new Date(Math.max(prevMillis, pickedUpAt) + lead) };
}

/** Fire jobs keep a little history in Redis for Bull Board; the run history lives in Postgres. */
const FIRE_JOB_OPTS = {
  attempts: 3,
  backoff: { type: 'fixed', delay: 500 },
  removeOnComplete: { count: 1000 },
  removeOnFail: { count: 5000 },
};

/**
 * One BullMQ job scheduler per active schedule, id = schedule id, on the `schedules` queue. Each fire job comes due
 * `fireAheadMs` before its instant, so that picking it up, reading the schedule and the worker's own scheduling of
 * the next iteration happen before the instant, and the run fires on it (the runner waits for the instant).
 */
export class ScheduleQueue {
  readonly queue: Queue;

  constructor(
    connection: Redis,
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

  /** Makes Redis match the schedule: a job scheduler while it is active, none while paused or deleted. */
  async sync(s: ScheduleRecord): Promise<void> {
    if (s.paused || s.deletedAt || !s.nextRunAt) {
      await this.remove(s.id);
      return;
    }
    const data: JobPayloads['schedule.fire'] = { scheduleId: s.id, tenantId: s.tenantId };
    await this.queue.upsertJobScheduler(
      s.id,
      { pattern: this.pattern(s) },
      { name: 'schedule.fire', data, opts: FIRE_JOB_OPTS },
    );
  }

  /** The pattern this schedule's job scheduler carries. */
  pattern(s: ScheduleRecord): string {
    return encodePattern(s, this.fireAheadMs);
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
