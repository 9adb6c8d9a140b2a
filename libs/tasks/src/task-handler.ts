import type { ErrorDetail } from '@baton/core';

export interface TaskContext {
  taskId: string;
  tenantId: string;
  attempt: number;
  /** Aborted when the task is cancelled or its timeout passes. */
  signal: AbortSignal;
  progress(percent: number): Promise<void>;
  log(message: string, level?: 'info' | 'warn' | 'error'): Promise<void>;
}

/** A built-in task handler: validates its payload at submission, runs it in a worker. */
export interface TaskHandler<P = unknown> {
  readonly name: string;
  validate(payload: unknown): ErrorDetail[];
  run(payload: P, ctx: TaskContext): Promise<unknown>;
}

/** A failure worth retrying (timeouts, 5xx, connection errors). Anything else unknown is retried too. */
export class TransientTaskError extends Error {
  constructor(
    message: string,
    readonly code = 'transient',
  ) {
    super(message);
    this.name = 'TransientTaskError';
  }
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
