import type { ErrorCode } from '@baton/core';

/** The one place where a domain error code becomes an HTTP status (API.md's error table). */
export const STATUS_OF: Record<ErrorCode, number> = {
  validation_failed: 400,
  malformed_json: 400,
  unsupported_media_type: 415,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  idempotency_request_in_progress: 409,
  invalid_state: 409,
  expired: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  rate_limited: 429,
  overloaded: 503,
  internal: 500,
};
