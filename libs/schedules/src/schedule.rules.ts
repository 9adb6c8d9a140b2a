import { BatonError, validationFailed, type ErrorDetail } from '@baton/core';
import { parseCron, validateSchedule, type CronSpec, type ScheduleTiming } from '@baton/scheduling';
import { timingGroupOf, type TimingFields } from './schedule.pattern';
import type { TargetRegistry } from './schedule.targets';
import type { NewSchedule, ScheduleRecord } from './schedule.types';

const MAX_DURATION_MS = 366 * 24 * 3600_000;
const FIELDS = [
  'name',
  'cron',
  'timezone',
  'everyMs',
  'runAt',
  'startAt',
  'endAt',
  'target',
  'overlap',
  'catchUp',
  'deadline',
  'expectedDurationMs',
  'priority',
  'paused',
  'notify',
] as const;
const KIND_FIELDS = ['cron', 'everyMs', 'runAt'] as const;

/** A create body (API.md "Schedules"), or a stored schedule put back in that form so a PATCH can be merged over it. */
export type ScheduleInput = Partial<Record<(typeof FIELDS)[number], unknown>>;

export interface ScheduleContext {
  id: string;
  tenantId: string;
  now: Date;
  /** Anchor of a fixed rate without startAt: the schedule's creation time. */
  createdAt: Date;
  minEveryMs: number;
  targets: TargetRegistry;
}

const present = (v: unknown): boolean => v !== undefined && v !== null;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function wholeMs(errors: ErrorDetail[], field: string, value: unknown, min = 1): number | null {
  if (!present(value)) return null;
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > MAX_DURATION_MS) {
    errors.push({ field, message: `must be a whole number of milliseconds from ${min} to ${MAX_DURATION_MS}` });
    return null;
  }
  return value as number;
}

/**
 * Turns a create body into the schedule to store, or throws validation_failed naming every bad field at once: the
 * timing rules (libs/scheduling), the target as its own API would check it, and the schedule's own fields.
 */
export function planSchedule(input: ScheduleInput, ctx: ScheduleContext): NewSchedule {
  const errors: ErrorDetail[] = [];
  const collect = (fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof BatonError) || !error.details) throw error;
      errors.push(...error.details);
    }
  };
  if (!isObject(input)) throw validationFailed([{ field: 'body', message: 'must be a JSON object' }]);
  for (const field of Object.keys(input)) {
    if (!(FIELDS as readonly string[]).includes(field)) errors.push({ field, message: 'is not a known field' });
  }
  if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > 200) {
    errors.push({ field: 'name', message: 'must be a non-empty string of at most 200 characters' });
  }
  let definition: ReturnType<typeof validateSchedule> | undefined;
  collect(() => (definition = validateSchedule(input, { minEveryMs: ctx.minEveryMs, createdAt: ctx.createdAt })));
  let target: NewSchedule['target'] | undefined;
  collect(() => (target = ctx.targets.validate(input.target, ctx.tenantId)));
  let deadlineWithinMs: number | null = null;
  if (present(input.deadline)) {
    if (!isObject(input.deadline)) errors.push({ field: 'deadline', message: 'must be an object: {withinMs}' });
    else {
      deadlineWithinMs = wholeMs(errors, 'deadline.withinMs', input.deadline.withinMs);
      if (deadlineWithinMs === null && !present(input.deadline.withinMs)) {
        errors.push({ field: 'deadline.withinMs', message: 'is required' });
      }
    }
  }
  const expectedDurationMs = wholeMs(errors, 'expectedDurationMs', input.expectedDurationMs);
  const priority = input.priority ?? 5;
  if (!Number.isInteger(priority) || (priority as number) < 1 || (priority as number) > 10) {
    errors.push({ field: 'priority', message: 'must be an integer from 1 (high) to 10 (low)' });
  }
  if (present(input.paused) && typeof input.paused !== 'boolean') {
    errors.push({ field: 'paused', message: 'must be true or false' });
  }
  if (errors.length > 0 || !definition || !target) throw validationFailed(errors);
  const { timing, overlap, catchUp } = definition;
  const rule = timing.rule;
  const schedule: Omit<NewSchedule, 'timingGroup'> = {
    id: ctx.id,
    tenantId: ctx.tenantId,
    name: input.name as string,
    kind: rule.kind,
    cron: rule.kind === 'cron' ? (input.cron as string) : null,
    timezone: timing.timezone,
    everyMs: rule.kind === 'every' ? rule.everyMs : null,
    runAt: rule.kind === 'once' ? rule.runAt : null,
    startAt: timing.startAt ?? null,
    endAt: timing.endAt ?? null,
    target,
    overlap,
    catchUpPolicy: catchUp.policy,
    catchUpMaxRuns: catchUp.maxRuns,
    deadlineWithinMs,
    expectedDurationMs,
    priority: priority as number,
    paused: input.paused === true,
    // Checked (URLs, private addresses, mailboxes) by the notifications service before it gets here.
    notify: (input.notify as Record<string, unknown> | null | undefined) ?? null,
    nextRunAt: null,
    lastScheduledFor: null,
    createdAt: ctx.createdAt,
  };
  return { ...schedule, timingGroup: timingGroupOf(schedule) };
}

/** A stored schedule in the form of its create body. */
export function scheduleInput(s: ScheduleRecord): ScheduleInput {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    everyMs: s.everyMs,
    runAt: s.runAt,
    startAt: s.startAt,
    endAt: s.endAt,
    target: s.target,
    overlap: s.overlap,
    catchUp: { policy: s.catchUpPolicy, maxRuns: s.catchUpMaxRuns },
    deadline: s.deadlineWithinMs !== null ? { withinMs: s.deadlineWithinMs } : null,
    expectedDurationMs: s.expectedDurationMs,
    priority: s.priority,
    paused: s.paused,
    notify: s.notify,
  };
}

/**
 * A PATCH body over a stored schedule (JSON merge patch: null clears an optional field). Giving one of cron, everyMs
 * or runAt switches the schedule to that kind.
 */
export function mergePatch(current: ScheduleRecord, patch: ScheduleInput): ScheduleInput {
  const merged: ScheduleInput = { ...scheduleInput(current) };
  if (KIND_FIELDS.some((k) => present(patch[k]))) for (const k of KIND_FIELDS) merged[k] = null;
  // Absent (undefined) leaves a field as it is; null clears it.
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) merged[k as keyof ScheduleInput] = v;
  return merged;
}

/** True when a change moves the schedule's fire times (its past instants must then not be caught up). */
export const timingChanged = (a: ScheduleRecord | NewSchedule, b: NewSchedule): boolean =>
  (['kind', 'cron', 'timezone', 'everyMs', 'runAt', 'startAt', 'endAt'] as const).some(
    (k) =>
      String(a[k] instanceof Date ? (a[k] as Date).getTime() : a[k]) !==
      String(b[k] instanceof Date ? (b[k] as Date).getTime() : b[k]),
  );

const cronCache = new Map<string, CronSpec>();
function cachedCron(expression: string): CronSpec {
  let spec = cronCache.get(expression);
  if (!spec) {
    spec = parseCron(expression);
    if (cronCache.size > 10_000) cronCache.clear();
    cronCache.set(expression, spec);
  }
  return spec;
}

export function timingOf(s: TimingFields): ScheduleTiming {
  const bounds = { timezone: s.timezone, startAt: s.startAt ?? undefined, endAt: s.endAt ?? undefined };
  switch (s.kind) {
    case 'cron':
      return { rule: { kind: 'cron', cron: cachedCron(s.cron!) }, ...bounds };
    case 'every':
      return { rule: { kind: 'every', everyMs: s.everyMs!, anchor: s.startAt ?? s.createdAt }, ...bounds };
    case 'once':
      return { rule: { kind: 'once', runAt: s.runAt! }, ...bounds };
  }
}
