import { validationFailed, type ErrorDetail } from '@baton/core';
import { isPermanent } from '@baton/queue';
import type { TaskHandler } from './task-handler';
import type { CreateTaskInput, NewTask, TaskError, TaskRecord } from './task.types';

export type HandlerRegistry = ReadonlyMap<string, TaskHandler>;

export interface TaskDefaults {
  maxAttempts: number;
}

/**
 * Turns a create request into the task to store, or throws validation_failed naming each bad field.
 * Shape (types, ranges) is checked at the edge; here: the handler exists, its payload is valid, `runAt` and
 * `delayMs` are not both given, and the deadline is not before the task may run.
 */
export function planTask(
  input: CreateTaskInput,
  ctx: {
    id: string;
    tenantId: string;
    requestId: string | null;
    now: Date;
    defaults: TaskDefaults;
    handlers: HandlerRegistry;
  },
): NewTask {
  const errors: ErrorDetail[] = [];
  const handler = ctx.handlers.get(input.handler);
  if (!handler) {
    errors.push({ field: 'handler', message: `unknown handler; known: ${[...ctx.handlers.keys()].join(', ')}` });
  } else {
    errors.push(...handler.validate(input.payload));
  }
  if (input.runAt !== undefined && input.delayMs !== undefined) {
    errors.push({ field: 'runAt', message: 'give runAt or delayMs, not both' });
  }
  const runAt =
    input.runAt !== undefined
      ? new Date(input.runAt)
      : input.delayMs
        ? new Date(ctx.now.getTime() + input.delayMs)
        : null;
  const deadlineAt = input.deadlineAt !== undefined ? new Date(input.deadlineAt) : null;
  if (deadlineAt && deadlineAt.getTime() <= (runAt ?? ctx.now).getTime()) {
    errors.push({ field: 'deadlineAt', message: 'must be after the time the task may start' });
  }
  if (errors.length > 0) throw validationFailed(errors);
  return {
    id: ctx.id,
    tenantId: ctx.tenantId,
    handler: input.handler,
    payload: input.payload ?? null,
    maxAttempts: input.maxAttempts ?? ctx.defaults.maxAttempts,
    priority: input.priority ?? 5,
    runAt,
    timeoutMs: input.timeoutMs ?? null,
    deadlineAt,
    dedupeKey: input.dedupeKey ?? null,
    notify: input.notify ?? null,
    requestId: ctx.requestId,
  };
}

/** Milliseconds until a task may start (0 when due). */
export const delayUntilRun = (task: Pick<TaskRecord, 'runAt'>, now: Date): number =>
  task.runAt ? Math.max(0, task.runAt.getTime() - now.getTime()) : 0;

/** The stored form of a failure: stable code, message, whether another attempt could help. */
export function describeFailure(error: unknown, attempt: number): TaskError {
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === 'string' ? e.code : e?.name === 'TimeoutError' ? 'timeout' : 'error';
  const message = typeof e?.message === 'string' && e.message ? e.message : String(error);
  return { code, message: message.slice(0, 2000), retryable: !isPermanent(error), attempt };
}

/** True when this failure ends the task: it is permanent, or no attempt is left. */
export const isFinalFailure = (error: unknown, attemptsMade: number, maxAttempts: number): boolean =>
  isPermanent(error) || attemptsMade >= maxAttempts;
