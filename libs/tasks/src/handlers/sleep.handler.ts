import type { ErrorDetail } from '@baton/core';
import { isPlainObject, sleep, type TaskHandler } from '../task-handler';

export interface SleepPayload {
  ms: number;
  steps?: number;
}

const MAX_MS = 7 * 24 * 3600 * 1000;

/** Waits `ms` in `steps` equal parts, reporting progress after each: a stand-in for long work. */
export const sleepHandler: TaskHandler<SleepPayload> = {
  name: 'sleep',
  validate(payload) {
    const errors: ErrorDetail[] = [];
    if (!isPlainObject(payload)) return [{ field: 'payload', message: 'must be an object like {"ms": 1000}' }];
    if (!Number.isInteger(payload.ms) || (payload.ms as number) < 0 || (payload.ms as number) > MAX_MS) {
      errors.push({ field: 'payload.ms', message: `must be an integer from 0 to ${MAX_MS}` });
    }
    const steps = payload.steps;
    if (steps !== undefined && (!Number.isInteger(steps) || (steps as number) < 1 || (steps as number) > 10_000)) {
      errors.push({ field: 'payload.steps', message: 'must be an integer from 1 to 10000' });
    }
    return errors;
  },
  async run(payload, ctx) {
    const steps = payload.steps ?? 10;
    for (let i = 1; i <= steps; i++) {
      await sleep(payload.ms / steps, ctx.signal);
      await ctx.progress(Math.floor((i * 100) / steps));
    }
    return { sleptMs: payload.ms };
  },
};
