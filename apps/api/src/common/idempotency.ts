import type { FastifyReply } from 'fastify';
import {
  BatonError,
  decideIdempotency,
  IDEMPOTENCY_KEY_PATTERN,
  newId,
  requestFingerprint,
  type IdKind,
} from '@baton/core';
import type { IdempotencyClaim } from '@baton/db';
import type { Runtime } from '@baton/runtime';
import type { BatonRequest } from './request';

export interface IdempotentOptions {
  kind: IdKind;
  /** Response fields never stored for replay (secrets): a replay answers without them. */
  redact?: string[];
}

/** An in-progress claim older than this belongs to a request that died; a retry takes it over. */
const STALE_AFTER_MS = 60_000;
/** Response headers replayed with the stored body. */
const REPLAYED_HEADERS = ['etag', 'location'];

/**
 * Idempotency-Key for every create endpoint, one mechanism for all (the @Idempotent interceptor and the lean task
 * route both run this): same key and body → the first response again with `Idempotent-Replayed: true`; a different
 * body → 422; the first request still running → 409. Concurrent duplicates meet at the record's primary key, so one
 * object is created. The object's id is reserved with the claim (req.reservedId), so a retry after a crash
 * mid-request finds the object it made. Without the header, `run` runs with a fresh id reserved.
 */
export async function runIdempotent(
  runtime: Runtime,
  options: IdempotentOptions,
  req: BatonRequest,
  reply: FastifyReply,
  status: number,
  run: () => Promise<unknown>,
): Promise<unknown> {
  const { kind } = options;
  const header = req.headers['idempotency-key'];
  if (header === undefined) {
    req.reservedId = newId(kind);
    return run();
  }
  const key = Array.isArray(header) ? header[0] : header;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new BatonError('validation_failed', 'Idempotency-Key must be 1–255 visible ASCII characters', [
      { field: 'Idempotency-Key', message: 'must be 1–255 visible ASCII characters' },
    ]);
  }
  const store = runtime.stores.idempotency;
  const tenantId = req.principal!.tenantId;
  const operation = `${req.method} ${req.url.split('?')[0]}`;
  const claim: IdempotencyClaim = {
    tenantId,
    key,
    operation,
    fingerprint: requestFingerprint(operation, req.body),
    resourceId: newId(kind),
    expiresAt: new Date(Date.now() + runtime.config.IDEMPOTENCY_TTL_HOURS * 3600_000),
  };
  const existing = await store.claim(claim);
  req.reservedId = claim.resourceId;
  if (existing) {
    const now = new Date();
    const decision = decideIdempotency(existing, claim, now, STALE_AFTER_MS);
    switch (decision.kind) {
      case 'replay':
        for (const [name, value] of Object.entries(existing.responseHeaders ?? {})) void reply.header(name, value);
        void reply.header('idempotent-replayed', 'true').status(existing.responseStatus ?? status);
        return existing.responseBody;
      case 'in_progress':
        throw new BatonError(
          'idempotency_request_in_progress',
          'a request with this Idempotency-Key is still being processed',
          undefined,
          1,
        );
      case 'key_reused':
        throw new BatonError('idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
      case 'take_over': {
        const stillValid = existing.expiresAt > now;
        if (!(await store.takeOver(claim, existing, stillValid))) {
          throw new BatonError(
            'idempotency_request_in_progress',
            'a request with this Idempotency-Key is still being processed',
            undefined,
            1,
          );
        }
        if (stillValid) req.reservedId = existing.resourceId;
      }
    }
  }
  try {
    const body = await run();
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = String(value);
    }
    await store.complete(tenantId, key, status, redact(body, options.redact), headers);
    return body;
  } catch (error) {
    await store.release(tenantId, key).catch(() => undefined);
    throw error;
  }
}

function redact(body: unknown, fields: string[] | undefined): unknown {
  if (!fields || typeof body !== 'object' || body === null) return body;
  const copy = { ...(body as Record<string, unknown>) };
  for (const field of fields) delete copy[field];
  return copy;
}
