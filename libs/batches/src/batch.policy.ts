import { validationFailed, type BackoffPolicy, type ErrorDetail } from '@baton/core';

/** How a batch treats its jobs (API.md `policy`), with every default filled in. */
export interface BatchPolicy {
  /** Runs of one item on the cluster, FAILED runs included (1–20). */
  maxAttempts: number;
  /** Between runs of an item, and between status checks of a run. */
  backoff: BackoffPolicy;
  /** A run still not finished this long after its submission is cancelled and counted as failed; null: no limit. */
  jobTimeoutMs: number | null;
  /** A run that stays SUBMITTED (or unknown) or RUNNING this long is stuck; null: no limit. */
  stuckAfterMs: { submitted: number | null; running: number | null };
  /** After the first item fails for good, cancel the rest. */
  failFast: boolean;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({
  maxAttempts: 3,
  backoff: Object.freeze({ baseMs: 1_000, maxMs: 60_000, jitter: 'full' as const }),
  jobTimeoutMs: null,
  // A cluster that never acknowledges a run loses it; an hour in SUBMITTED is stuck by default. RUNNING may last hours.
  stuckAfterMs: Object.freeze({ submitted: 3_600_000, running: null }),
  failFast: false,
});

const DAY_MS = 24 * 3600_000;
const LIMITS = {
  maxAttempts: [1, 20],
  baseMs: [1, DAY_MS],
  maxMs: [1, 7 * DAY_MS],
  timeout: [1_000, 30 * DAY_MS],
} as const;

export interface BatchPolicyInput {
  maxAttempts?: number;
  backoff?: { baseMs?: number; maxMs?: number; jitter?: string };
  jobTimeoutMs?: number | null;
  stuckAfterMs?: { submitted?: number | null; running?: number | null };
  failFast?: boolean;
}

function checkInt(errors: ErrorDetail[], field: string, value: unknown, [min, max]: readonly [number, number]): void {
  if (value === undefined || value === null) return;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    errors.push({ field, message: `must be an integer from ${min} to ${max}` });
  }
}

/** The batch's policy: the input over the defaults, checked field by field (errors name `policy.…`). */
export function resolvePolicy(input: BatchPolicyInput | undefined): BatchPolicy {
  const p = input ?? {};
  const errors: ErrorDetail[] = [];
  checkInt(errors, 'policy.maxAttempts', p.maxAttempts, LIMITS.maxAttempts);
  checkInt(errors, 'policy.backoff.baseMs', p.backoff?.baseMs, LIMITS.baseMs);
  checkInt(errors, 'policy.backoff.maxMs', p.backoff?.maxMs, LIMITS.maxMs);
  checkInt(errors, 'policy.jobTimeoutMs', p.jobTimeoutMs, LIMITS.timeout);
  checkInt(errors, 'policy.stuckAfterMs.submitted', p.stuckAfterMs?.submitted, LIMITS.timeout);
  checkInt(errors, 'policy.stuckAfterMs.running', p.stuckAfterMs?.running, LIMITS.timeout);
  const jitter = p.backoff?.jitter ?? DEFAULT_BATCH_POLICY.backoff.jitter;
  if (jitter !== 'full' && jitter !== 'none')
    errors.push({ field: 'policy.backoff.jitter', message: 'must be full or none' });
  if (p.failFast !== undefined && typeof p.failFast !== 'boolean') {
    errors.push({ field: 'policy.failFast', message: 'must be true or false' });
  }
  const backoff = {
    baseMs: p.backoff?.baseMs ?? DEFAULT_BATCH_POLICY.backoff.baseMs,
    maxMs: p.backoff?.maxMs ?? Math.max(DEFAULT_BATCH_POLICY.backoff.maxMs, p.backoff?.baseMs ?? 0),
    jitter: jitter as BackoffPolicy['jitter'],
  };
  if (errors.length === 0 && backoff.baseMs > backoff.maxMs) {
    errors.push({ field: 'policy.backoff.baseMs', message: 'must not be more than policy.backoff.maxMs' });
  }
  if (errors.length > 0) throw validationFailed(errors);
  return {
    maxAttempts: p.maxAttempts ?? DEFAULT_BATCH_POLICY.maxAttempts,
    backoff,
    jobTimeoutMs: p.jobTimeoutMs ?? DEFAULT_BATCH_POLICY.jobTimeoutMs,
    stuckAfterMs: {
      submitted:
        p.stuckAfterMs?.submitted === undefined
          ? DEFAULT_BATCH_POLICY.stuckAfterMs.submitted
          : p.stuckAfterMs.submitted,
      running:
        p.stuckAfterMs?.running === undefined ? DEFAULT_BATCH_POLICY.stuckAfterMs.running : p.stuckAfterMs.running,
    },
    failFast: p.failFast ?? DEFAULT_BATCH_POLICY.failFast,
  };
}
