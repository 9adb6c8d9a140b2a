import type { FastifyRequest } from 'fastify';
import type { Principal } from '@baton/core';

/** What the edge attaches to a request as it passes: who calls, and the id reserved by Idempotency-Key. */
export interface BatonRequest extends FastifyRequest {
  principal?: Principal;
  reservedId?: string;
}
