import type { CatchUpPolicy, OverlapPolicy } from '@baton/scheduling';

export type ScheduleKind = 'cron' | 'every' | 'once';

/** A schedule as Postgres holds it. */
export interface ScheduleRecord {
  id: string;
  tenantId: string;
  name: string;
  kind: ScheduleKind;
  cron: string | null;
  timezone: string;
  everyMs: number | null;
  runAt: Date | null;
  startAt: Date | null;
  endAt: Date | null;
  /** `{type, ...the create body of that type}` */
  target: TargetSpec;
  overlap: OverlapPolicy;
  catchUpPolicy: CatchUpPolicy;
  catchUpMaxRuns: number;
  deadlineWithinMs: number | null;
  expectedDurationMs: number | null;
  priority: number;
  paused: boolean;
  /** Where its runs' `schedule.run.completed` events go (API.md `notify`); null: the tenant's subscriptions only. */
  notify: Record<string, unknown> | null;
  nextRunAt: Date | null;
  lastScheduledFor: Date | null;
  /**
   * timingGroupOf the timing: schedules with the same fire times share a job scheduler and fire in one job. Null
   * only for rows from before timing groups, until the reconciler assigns it.
   */
  timingGroup: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export type NewSchedule = Omit<ScheduleRecord, 'version' | 'updatedAt' | 'deletedAt'>;

export interface TargetSpec {
  type: string;
  [field: string]: unknown;
}

/** pending: recorded, its target not yet created; then running, and one of succeeded, failed, cancelled; or skipped. */
export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped';

export interface RunError {
  code: string;
  message: string;
}

export interface ScheduleRunRecord {
  id: string;
  scheduleId: string;
  tenantId: string;
  scheduledFor: Date;
  firedAt: Date;
  lagMs: number;
  status: RunStatus;
  targetType: string;
  targetId: string | null;
  durationMs: number | null;
  deadlineAt: Date | null;
  deadlineMet: boolean | null;
  finishedAt: Date | null;
  error: RunError | null;
}

/** A run's ending, as the sweep settles it. */
export interface RunEnding {
  id: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  finishedAt: Date;
  durationMs: number;
  deadlineMet: boolean | null;
  error: RunError | null;
}

const iso = (d: Date | null): string | undefined => (d ? d.toISOString() : undefined);

/** The schedule as the API returns it (API.md "Schedules"). */
export interface ScheduleView {
  id: string;
  name: string;
  cron?: string;
  timezone: string;
  everyMs?: number;
  runAt?: string;
  startAt?: string;
  endAt?: string;
  target: TargetSpec;
  overlap: OverlapPolicy;
  catchUp: { policy: CatchUpPolicy; maxRuns: number };
  deadline?: { withinMs: number };
  expectedDurationMs?: number;
  priority: number;
  paused: boolean;
  /** The next instant it fires; null while paused or when it has no more. */
  nextRunAt: string | null;
  lastScheduledFor?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toScheduleView(s: ScheduleRecord): ScheduleView {
  return {
    id: s.id,
    name: s.name,
    cron: s.cron ?? undefined,
    timezone: s.timezone,
    everyMs: s.everyMs ?? undefined,
    runAt: iso(s.runAt),
    startAt: iso(s.startAt),
    endAt: iso(s.endAt),
    target: s.target,
    overlap: s.overlap,
    catchUp: { policy: s.catchUpPolicy, maxRuns: s.catchUpMaxRuns },
    deadline: s.deadlineWithinMs !== null ? { withinMs: s.deadlineWithinMs } : undefined,
    expectedDurationMs: s.expectedDurationMs ?? undefined,
    priority: s.priority,
    paused: s.paused,
    nextRunAt: s.paused ? null : (iso(s.nextRunAt) ?? null),
    lastScheduledFor: iso(s.lastScheduledFor),
    version: s.version,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** The ETag of a schedule version (strong: the version is bumped by every write). */
export const scheduleEtag = (s: Pick<ScheduleRecord, 'id' | 'version'>): string => `"${s.id}.v${s.version}"`;

/** A run as GET /v1/schedules/:id/runs returns it, and as schedule.run.completed carries it. */
export interface RunView {
  id: string;
  scheduleId: string;
  scheduledFor: string;
  firedAt: string;
  lagMs: number;
  status: RunStatus;
  targetType: string;
  targetId: string | null;
  durationMs?: number;
  deadlineAt?: string;
  deadlineMet?: boolean;
  finishedAt?: string;
  error?: RunError;
}

export function toRunView(r: ScheduleRunRecord): RunView {
  return {
    id: r.id,
    scheduleId: r.scheduleId,
    scheduledFor: r.scheduledFor.toISOString(),
    firedAt: r.firedAt.toISOString(),
    lagMs: r.lagMs,
    status: r.status,
    targetType: r.targetType,
    targetId: r.targetId,
    durationMs: r.durationMs ?? undefined,
    deadlineAt: iso(r.deadlineAt),
    deadlineMet: r.deadlineMet ?? undefined,
    finishedAt: iso(r.finishedAt),
    error: r.error ?? undefined,
  };
}

/** A run's completion event is unique per run. */
export const runCompletionKey = (runId: string): string => `schedule.run.completed:${runId}`;
