import type { WorkStatus } from '@baton/core';

/** A task as Postgres holds it. */
export interface TaskRecord {
  id: string;
  tenantId: string;
  handler: string;
  payload: unknown;
  status: WorkStatus;
  progress: number;
  result: unknown;
  lastError: unknown;
  attempts: number;
  maxAttempts: number;
  generation: number;
  priority: number;
  runAt: Date | null;
  timeoutMs: number | null;
  deadlineAt: Date | null;
  dedupeKey: string | null;
  notify: unknown;
  requestId: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The body of POST /v1/tasks after shape validation. */
export interface CreateTaskInput {
  handler: string;
  payload?: unknown;
  priority?: number;
  runAt?: string;
  delayMs?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  deadlineAt?: string;
  dedupeKey?: string;
  notify?: unknown;
}

export type NewTask = Omit<
  TaskRecord,
  'status' | 'progress' | 'result' | 'lastError' | 'attempts' | 'generation' | 'createdAt' | 'startedAt' | 'finishedAt'
>;

/** A task's failure as stored in lastError and shown to clients. */
export interface TaskError {
  code: string;
  message: string;
  retryable: boolean;
  attempt: number;
}

/** The task as GET /v1/tasks/:id returns it (API.md). */
export interface TaskView {
  id: string;
  handler: string;
  status: WorkStatus;
  progress: number;
  payload?: unknown;
  result?: unknown;
  lastError?: unknown;
  attempts: number;
  maxAttempts: number;
  priority: number;
  createdAt: string;
  runAt?: string;
  startedAt?: string;
  finishedAt?: string;
  deadlineAt?: string;
  dedupeKey?: string;
}

/** A task's completion event is unique per task and generation (a dead-letter replay is a new generation). */
export const taskCompletionKey = (task: Pick<TaskRecord, 'id' | 'generation'>): string =>
  `task.completed:${task.id}:${task.generation}`;

const iso = (d: Date | null): string | undefined => (d ? d.toISOString() : undefined);

export function toTaskView(t: TaskRecord): TaskView {
  return {
    id: t.id,
    handler: t.handler,
    status: t.status,
    progress: t.progress,
    payload: t.payload ?? undefined,
    result: t.result ?? undefined,
    lastError: t.lastError ?? undefined,
    attempts: t.attempts,
    maxAttempts: t.maxAttempts,
    priority: t.priority,
    createdAt: t.createdAt.toISOString(),
    runAt: iso(t.runAt),
    startedAt: iso(t.startedAt),
    finishedAt: iso(t.finishedAt),
    deadlineAt: iso(t.deadlineAt),
    dedupeKey: t.dedupeKey ?? undefined,
  };
}
