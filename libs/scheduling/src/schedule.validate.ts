import { BatonError, validationFailed, type ErrorDetail } from '@baton/core';
import type { CatchUpPolicy } from './catch-up';
import { parseCron, type CronSpec } from './cron.parse';
import { parseInstant } from './instant';
import type { ScheduleRule, ScheduleTiming } from './schedule.timing';
import { isTimeZone } from './zone';

export type OverlapPolicy = 'allow' | 'skip' | 'cancel_previous';
const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['allow', 'skip', 'cancel_previous'];
const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['none', 'latest', 'all'];
const KINDS = ['cron', 'everyMs', 'runAt'] as const;
export const SCHEDULE_DEFAULTS = {
  timezone: 'UTC',
  overlap: 'skip' as OverlapPolicy,
  // One run for whatever was missed, as Quartz's default misfire rule and Kubernetes CronJobs do.
  catchUp: { policy: 'latest' as CatchUpPolicy, maxRuns: 10 },
};
export const MAX_CATCH_UP_RUNS = 1000;

/**
 * A schedule's timing fields as a request or a stored row carries them (API.md "Schedules"); null means absent.
 * `timezone` is accepted with every kind: a cron expression reads wall-clock time there, and every kind shows its
 * upcoming runs' local time there.
 */
export interface ScheduleInput {
  cron?: unknown;
  timezone?: unknown;
  everyMs?: unknown;
  runAt?: unknown;
  startAt?: unknown;
  endAt?: unknown;
  overlap?: unknown;
  catchUp?: unknown;
}

export interface ScheduleRules {
  /** The shortest fixed rate allowed (a setting). */
  minEveryMs: number;
  /** When the schedule was created: a fixed rate counts from here when startAt is absent. */
  createdAt: Date;
}

export interface ScheduleDefinition {
  timing: ScheduleTiming;
  overlap: OverlapPolicy;
  catchUp: { policy: CatchUpPolicy; maxRuns: number };
}

const present = (v: unknown): boolean => v !== undefined && v !== null;
/** Records a problem; returns undefined so that a checker can report and give up in one statement. */
type Fail = (field: string, message: string) => undefined;

/**
 * Checks a schedule definition and returns it normalised, defaults applied; every problem found is reported at
 * once as `validation_failed` with API.md's field names.
 */
export function validateSchedule(input: ScheduleInput, rules: ScheduleRules): ScheduleDefinition {
  const errors: ErrorDetail[] = [];
  const fail: Fail = (field, message) => void errors.push({ field, message });

  const given = KINDS.filter((k) => present(input[k]));
  if (given.length === 0) fail('cron', 'one of cron, everyMs or runAt is required');
  for (const extra of given.slice(1)) fail(extra, `give only one of cron, everyMs or runAt (${given[0]} is set)`);

  const timezone = present(input.timezone) ? input.timezone : SCHEDULE_DEFAULTS.timezone;
  if (typeof timezone !== 'string' || !isTimeZone(timezone)) fail('timezone', 'must be a known IANA time zone');
  const startAt = instant(input.startAt, 'startAt', fail);
  const endAt = instant(input.endAt, 'endAt', fail);
  if (startAt && endAt && endAt <= startAt) fail('endAt', 'must be after startAt');

  let rule: ScheduleRule | undefined;
  if (given[0] === 'cron') {
    const cron = cronSpec(input.cron, errors);
    if (cron) rule = { kind: 'cron', cron };
  } else if (given[0] === 'everyMs') {
    const everyMs = input.everyMs;
    if (typeof everyMs !== 'number' || !Number.isSafeInteger(everyMs) || everyMs < rules.minEveryMs) {
      fail('everyMs', `must be a whole number of milliseconds, at least ${rules.minEveryMs}`);
    } else rule = { kind: 'every', everyMs, anchor: startAt ?? rules.createdAt };
  } else if (given[0] === 'runAt') {
    const runAt = instant(input.runAt, 'runAt', fail);
    if (runAt && ((startAt && runAt < startAt) || (endAt && runAt > endAt))) {
      fail('runAt', 'is outside startAt..endAt, so it would never fire');
    } else if (runAt) rule = { kind: 'once', runAt };
  }

  const overlap = present(input.overlap) ? input.overlap : SCHEDULE_DEFAULTS.overlap;
  if (!OVERLAP_POLICIES.includes(overlap as OverlapPolicy))
    fail('overlap', `must be one of ${OVERLAP_POLICIES.join(', ')}`);
  const catchUp = catchUpPolicy(input.catchUp, fail);

  if (errors.length > 0 || !rule || !catchUp) throw validationFailed(errors);
  const timing: ScheduleTiming = { rule, timezone: timezone as string, startAt, endAt };
  return { timing, overlap: overlap as OverlapPolicy, catchUp };
}

function cronSpec(value: unknown, errors: ErrorDetail[]): CronSpec | undefined {
  if (typeof value !== 'string') return void errors.push({ field: 'cron', message: 'must be a string' });
  try {
    return parseCron(value, 'cron');
  } catch (err) {
    if (!(err instanceof BatonError) || !err.details) throw err;
    errors.push(...err.details);
  }
}

function instant(value: unknown, field: string, fail: Fail): Date | undefined {
  if (!present(value)) return undefined;
  return parseInstant(value) ?? fail(field, 'must be an ISO 8601 instant with Z or an offset');
}

function catchUpPolicy(value: unknown, fail: Fail): { policy: CatchUpPolicy; maxRuns: number } | undefined {
  if (!present(value)) return { ...SCHEDULE_DEFAULTS.catchUp };
  if (typeof value !== 'object' || Array.isArray(value)) return fail('catchUp', 'must be an object');
  const raw = value as { policy?: unknown; maxRuns?: unknown };
  const policy = raw.policy as CatchUpPolicy;
  const maxRuns = present(raw.maxRuns) ? raw.maxRuns : SCHEDULE_DEFAULTS.catchUp.maxRuns;
  const policyOk = CATCH_UP_POLICIES.includes(policy);
  const maxRunsOk =
    typeof maxRuns === 'number' && Number.isInteger(maxRuns) && maxRuns >= 1 && maxRuns <= MAX_CATCH_UP_RUNS;
  if (!policyOk) fail('catchUp.policy', `must be one of ${CATCH_UP_POLICIES.join(', ')}`);
  if (!maxRunsOk) fail('catchUp.maxRuns', `must be a whole number from 1 to ${MAX_CATCH_UP_RUNS}`);
  return policyOk && maxRunsOk ? { policy, maxRuns } : undefined;
}
