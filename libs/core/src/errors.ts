/**
 * Domain errors carry a stable code and a retryable flag; only apps/api maps a code to an HTTP status.
 * The codes are API.md's error table.
 */
export const ERROR_CODES = {
  validation_failed: { retryable: false },
  malformed_json: { retryable: false },
  unsupported_media_type: { retryable: false },
  unauthenticated: { retryable: false },
  forbidden: { retryable: false },
  not_found: { retryable: false },
  idempotency_request_in_progress: { retryable: true },
  invalid_state: { retryable: false },
  expired: { retryable: false },
  precondition_failed: { retryable: false },
  payload_too_large: { retryable: false },
  idempotency_key_reused: { retryable: false },
  rate_limited: { retryable: true },
  overloaded: { retryable: true },
  internal: { retryable: true },
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  field: string;
  message: string;
}

export class BatonError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    /** Seconds a client should wait before retrying (rate limits, backpressure). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'BatonError';
    this.retryable = ERROR_CODES[code].retryable;
  }
}

export const notFound = (what: string): BatonError => new BatonError('not_found', `${what} not found`);

export const validationFailed = (details: ErrorDetail[]): BatonError =>
  new BatonError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);

export const invalidState = (message: string): BatonError => new BatonError('invalid_state', message);
