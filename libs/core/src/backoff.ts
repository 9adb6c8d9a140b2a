export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** full: a uniform random delay in [0, capped exponential]; none: the capped exponential itself. */
  jitter: 'full' | 'none';
}

/**
 * Delay before retry number `attempt` (1 = the first retry): min(maxMs, baseMs * 2^(attempt-1)), with full
 * jitter so that many clients failing together do not retry together.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  return policy.jitter === 'full' ? Math.floor(random() * capped) : capped;
}
