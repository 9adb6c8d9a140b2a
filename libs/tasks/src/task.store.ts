import type { TaskError, TaskRecord, NewTask } from './task.types';

export interface TaskLogLine {
  id: string;
  at: Date;
  level: string;
  message: string;
}

/** One run of a task: the row as it was claimed, this attempt's number and when it began. */
export interface Attempt {
  task: TaskRecord;
  number: number;
  startedAt: Date;
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
  /** The task, if it may still run (queued or running); null when terminal or unknown: its job is then dropped. */
  claim(id: string): Promise<TaskRecord | null>;
  /** queued|running → running, recording the attempt. Conditional: a task finished meanwhile stays finished. */
  markRunning(attempt: Attempt): Promise<boolean>;
  progress(id: string, percent: number): Promise<void>;
  /** The worker running the task is alive: heartbeatAt = now (running tasks only). */
  heartbeat(id: string): Promise<void>;
  /** queued|running → succeeded with the attempt and its completion event. False when the task had already ended. */
  succeed(attempt: Attempt, result: unknown): Promise<boolean>;
  /** queued|running → queued with the error and the attempt; a retry follows after backoff. */
  retrying(attempt: Attempt, error: TaskError): Promise<void>;
  /** queued|running → failed, with a dead letter and the completion event, in one statement. */
  fail(attempt: Attempt, error: TaskError, deadLetter: DeadLetterInfo): Promise<boolean>;
  /** failed → queued for another generation of attempts (a dead-letter replay). Null when the task is not failed. */
  reopen(id: string): Promise<TaskRecord | null>;
  /** Tasks newest first, for execution history; `beforeId` pages backwards. */
  history(
    filter: { status?: string; tenantId?: string },
    beforeId: string | undefined,
    limit: number,
  ): Promise<TaskRecord[]>;
  /** Deletes up to `limit` tasks that ended before `cutoff` (with their logs); returns how many. */
  purgeFinished(cutoff: Date, limit: number): Promise<number>;
  /** Ids of non-terminal tasks created before `cutoff`, in id order after `afterId`: the reconciler's scan. */
  pendingIds(cutoff: Date, afterId: string | undefined, limit: number): Promise<string[]>;
  /** The tasks among `ids` still queued or running, whole: what the reconciler repairs, read again after its check. */
  stillPending(ids: string[]): Promise<TaskRecord[]>;
}
