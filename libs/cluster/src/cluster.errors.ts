/**
 * What can go wrong talking to the cluster, in the three classes the orchestrator acts on differently:
 * wait as told (rate limited), retry with backoff (transient), or fail the item for good (rejected).
 * Plain errors, no BullMQ: the worker maps ClusterRejectedError to its own permanent error.
 */
export abstract class ClusterError extends Error {
  abstract readonly retryable: boolean;

  constructor(
    message: string,
    /** Stable, for logs and lastError: `rate_limited`, `timeout`, `connection`, `http_503`, `bad_response`... */
    readonly code: string,
    /** The HTTP status, when the cluster answered at all. */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

/** 429: the cluster is over its rate. Not a failure of the item: wait, then try again (it need not count as an attempt). */
export class ClusterRateLimitedError extends ClusterError {
  override name = 'ClusterRateLimitedError';
  readonly retryable = true;

  constructor(
    message: string,
    /** From Retry-After (seconds or HTTP date); undefined when the cluster did not say, so use your own backoff. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, 'rate_limited', 429);
  }
}

/**
 * 5xx, 408, 425, timeouts, connection errors, an unreadable 2xx reply. The call may or may not have taken effect
 * (a timed-out submit may have created the job): retry with the same client token.
 */
export class ClusterTransientError extends ClusterError {
  override name = 'ClusterTransientError';
  readonly retryable = true;

  constructor(
    message: string,
    code: string,
    httpStatus?: number,
    /** A 503's Retry-After, when it sent one: a hint, not a promise. */
    readonly retryAfterMs?: number,
  ) {
    super(message, code, httpStatus);
  }
}

/** Any other 4xx (and 3xx: redirects are not followed): asking again the same way gets the same answer. */
export class ClusterRejectedError extends ClusterError {
  override name = 'ClusterRejectedError';
  readonly retryable = false;
}

export const isClusterError = (error: unknown): error is ClusterError => error instanceof ClusterError;
