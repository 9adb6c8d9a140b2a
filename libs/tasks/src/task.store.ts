import type { TaskError, TaskRecord, NewTask } from './task.types';

export interface TaskLogLine {
  id: string;
  at: Date;
  level: string;
  message: string;
}

export interface DeadLetterInfo {
  queue: string;
  jobName: string;
  data: unknown;
}

/** What the task use cases need from the system of record. Every transition is conditional on the current state. */
export interface TaskStore {
  /** Inserts the task; an existing task with the same id or (tenant, dedupeKey) is returned instead. */
  create(task: NewTask): Promise<{ task: TaskRecord; created: boolean }>;
  /** `tenantId` null: any tenant (admin). */
  find(id: string, tenantId: string | null): Promise<TaskRecord | null>;
  logs(id: string, afterId: string | undefined, limit: number): Promise<TaskLogLine[]>;
  appendLog(id: string, level: string, message: string): Promise<void>;
  /** queued|running → cancelled, with its completion event. Returns the task after, or null when unknown. */
  cancel(id: string, tenantId: string | null): Promise<TaskRecord | null>;
  /** queued|running → running, attempts + 1. Null when the task is terminal (or gone): the job is then dropped. */
  start(id: string): Promise<TaskRecord | null>;
  progress(id: string, percent: number): Promise<void>;
  /** running → succeeded; `task` is the row as `start` returned it (for the completion event). */
  succeed(task: TaskRecord, result: unknown): Promise<boolean>;
  /** running → queued with the error; a retry follows after backoff. */
  retrying(id: string, error: TaskError): Promise<void>;
  /** → failed, with a dead letter and the completion event, in one transaction. */
  fail(task: TaskRecord, error: TaskError, deadLetter: DeadLetterInfo): Promise<boolean>;
  /** Non-terminal tasks created before `cutoff`, in id order after `afterId`: the reconciler's scan. */
  pending(cutoff: Date, afterId: string | undefined, limit: number): Promise<TaskRecord[]>;
}
