import { backoffDelay, type BackoffPolicy } from '@baton/core';

/** How deliveries are retried (NOTIFY_* settings). */
export interface DeliveryPolicy {
  maxAttempts: number;
  backoff: BackoffPolicy;
  /** The longest wait a receiver's Retry-After may impose; a longer one is cut to this. */
  retryAfterMaxMs: number;
}

/** What one attempt came to, whatever the channel. */
export interface AttemptResult {
  ok: boolean;
  /** HTTP status, or the SMTP reply code. */
  statusCode?: number;
  /** From a 429 or 503's Retry-After. */
  retryAfterMs?: number;
  /** Retrying cannot help (e.g. the URL now resolves to a private address, the secret is gone). */
  permanent?: boolean;
  error?: string;
  /** The start of the reply body, for operators. */
  response?: string;
}

export type NextStep = { kind: 'delivered' } | { kind: 'retry'; delayMs: number } | { kind: 'dead' };

/** A 2xx ends delivery; anything else is retried (API.md), except what no retry can mend. */
export const isDelivered = (statusCode: number): boolean => statusCode >= 200 && statusCode < 300;

/** Status codes whose Retry-After is honoured. */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * After attempt number `attempt` (1-based within the current budget): delivered, another try after a delay
 * (Retry-After when the receiver gave one, capped; else exponential backoff with full jitter), or dead.
 */
export function nextStep(
  result: AttemptResult,
  attempt: number,
  policy: DeliveryPolicy,
  random: () => number = Math.random,
): NextStep {
  if (result.ok) return { kind: 'delivered' };
  if (result.permanent || attempt >= policy.maxAttempts) return { kind: 'dead' };
  if (
    result.retryAfterMs !== undefined &&
    result.statusCode !== undefined &&
    RETRY_AFTER_STATUSES.has(result.statusCode)
  ) {
    return { kind: 'retry', delayMs: Math.min(Math.max(0, result.retryAfterMs), policy.retryAfterMaxMs) };
  }
  return { kind: 'retry', delayMs: backoffDelay(attempt, policy.backoff, random) };
}
