export interface IdempotencyRecordView {
  operation: string;
  fingerprint: string;
  state: 'in_progress' | 'completed';
  createdAt: Date;
  expiresAt: Date;
}

export type IdempotencyDecision =
  | { kind: 'replay' }
  | { kind: 'in_progress' }
  | { kind: 'key_reused' }
  /** The record expired, or its request died mid-way: the caller takes it over. */
  | { kind: 'take_over' };

/**
 * What to do with a request whose Idempotency-Key already has a record.
 * A different operation or body under the same key is a client error (422), whatever the record's state.
 * An in-progress record older than `staleAfterMs` belongs to a request that crashed; it is taken over, and the
 * object id reserved with it is reused, so the retry still creates one object.
 */
export function decideIdempotency(
  record: IdempotencyRecordView,
  request: { operation: string; fingerprint: string },
  now: Date,
  staleAfterMs: number,
): IdempotencyDecision {
  if (record.expiresAt.getTime() <= now.getTime()) return { kind: 'take_over' };
  if (record.operation !== request.operation || record.fingerprint !== request.fingerprint)
    return { kind: 'key_reused' };
  if (record.state === 'completed') return { kind: 'replay' };
  if (now.getTime() - record.createdAt.getTime() > staleAfterMs) return { kind: 'take_over' };
  return { kind: 'in_progress' };
}

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
