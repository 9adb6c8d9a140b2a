import type { WorkStatus } from '@baton/core';
import type { NewSchedule, RunEnding, RunError, ScheduleRecord, ScheduleRunRecord } from './schedule.types';

/** The fields a PATCH may change, already validated and normalised. */
export type ScheduleChanges = Partial<
  Omit<ScheduleRecord, 'id' | 'tenantId' | 'version' | 'createdAt' | 'updatedAt' | 'deletedAt'>
>;

/** A target's current state, as the sweep needs it to settle runs and predict finishes. */
export interface TargetState {
  status: WorkStatus;
  startedAt: Date | null;
  finishedAt: Date | null;
  progress: number | null;
  error: RunError | null;
}

/** What the schedule use cases need from the system of record. `tenantId` null means any tenant (admin). */
export interface ScheduleStore {
  /** Inserts the schedule; an existing schedule with the same id (a retried request) is returned instead. */
  create(schedule: NewSchedule): Promise<ScheduleRecord>;
  /** Deleted schedules too: an action on one answers invalid_state, a read answers not found. */
  find(id: string, tenantId: string | null): Promise<ScheduleRecord | null>;
  list(tenantId: string | null, afterId: string | undefined, limit: number): Promise<ScheduleRecord[]>;
  /**
   * Applies the changes and bumps the version, when the schedule is not deleted and (with `ifVersion`) still at that
   * version. Null when nothing matched.
   */
  update(id: string, changes: ScheduleChanges, ifVersion?: number): Promise<ScheduleRecord | null>;
  softDelete(id: string): Promise<ScheduleRecord | null>;
  /** lastScheduledFor moves forward only (GREATEST), so concurrent firings never move it back. */
  advance(id: string, caughtUpTo: Date | null, nextRunAt: Date | null): Promise<void>;
  /** Active (not paused, not deleted) schedules in id order after `afterId`: the reconciler's scan. */
  active(afterId: string | undefined, limit: number): Promise<ScheduleRecord[]>;
  /** The active members of a timing group, in id order (all of them without `limit`): who its fire job fires. */
  activeInTimingGroup(group: string, limit?: number): Promise<ScheduleRecord[]>;
  /**
   * Records the timing group of a schedule still at `version` (a concurrent PATCH wins), without bumping the version:
   * it is derived from the timing, not a change. False when the version moved on.
   */
  assignTimingGroup(id: string, group: string, version: number): Promise<boolean>;

  /** Inserts runs; a run whose (scheduleId, scheduledFor) exists is skipped. Returns the ids inserted. */
  insertRuns(runs: ScheduleRunRecord[]): Promise<Set<string>>;
  /** pending → running once its target exists. */
  markDispatched(runId: string): Promise<void>;
  /** Ends runs (with their schedule.run.completed events, in the same statement); returns those that changed. */
  finishRuns(endings: RunEnding[]): Promise<ScheduleRunRecord[]>;
  findRun(id: string): Promise<ScheduleRunRecord | null>;
  /** Runs of a schedule, newest scheduledFor first; `before` is the cursor (a run id). */
  runs(scheduleId: string, beforeId: string | undefined, limit: number): Promise<ScheduleRunRecord[]>;
  /** Runs of this schedule still pending or running. */
  openRuns(scheduleId: string): Promise<ScheduleRunRecord[]>;
  /** Running runs, for the sweep. */
  runningRuns(limit: number): Promise<ScheduleRunRecord[]>;
  /** Pending runs fired before `before`: a crash came between recording them and creating their target. */
  stalePending(before: Date, limit: number): Promise<ScheduleRunRecord[]>;
  /** Durations of the schedule's last `limit` successful runs. */
  pastDurations(scheduleId: string, limit: number): Promise<number[]>;
  /** The state of tasks, by id (for the task target). */
  taskStates(ids: string[]): Promise<Map<string, TargetState>>;
}
