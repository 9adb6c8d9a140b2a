import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { BatonError } from '@baton/core';
import { metrics } from '@baton/observability';
import type { Runtime } from '@baton/runtime';
import { KeyRateLimiter, type RateDecision } from './rate-limiter';
import type { BatonRequest } from './request';

/** The API's one limiter: the guard and the lean task routes (tasks.lean.ts) take from the same leases. */
export const keyRateLimiter = ({ config, redis }: Runtime): KeyRateLimiter =>
  new KeyRateLimiter(redis, `${config.QUEUE_PREFIX}:rl`, config.RATE_LIMIT_PER_SECOND, config.RATE_LIMIT_BURST);

/**
 * Applies a rate decision to the reply: RateLimit-* headers, and 429 with Retry-After for a key over its rate. No
 * decision (Redis could not be asked): the request passes, and backpressure answers for a Redis that is away.
 */
export function enforceRate(decision: RateDecision | null, reply: FastifyReply): void {
  if (!decision) return;
  void reply.header('ratelimit-limit', String(decision.limit));
  void reply.header('ratelimit-remaining', String(decision.remaining));
  void reply.header('ratelimit-reset', String(decision.resetSeconds));
  if (decision.allowed) return;
  metrics.rejected.inc({ reason: 'rate_limited' });
  throw new BatonError(
    'rate_limited',
    `this API key is over its rate of ${decision.limit} requests/s`,
    undefined,
    decision.retryAfterSeconds,
  );
}

/**
 * Per-API-key rate limit on Redis (shared by every API replica): RATE_LIMIT_PER_SECOND sustained, plus a
 * RATE_LIMIT_BURST allowance per 10 s (see KeyRateLimiter). Answers carry RateLimit-* headers; a key over its rate
 * gets 429 with Retry-After.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(@Inject(KeyRateLimiter) private readonly limiter: KeyRateLimiter) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<BatonRequest>();
    if (!req.principal) return true; // public route
    enforceRate(await this.limiter.take(req.principal.keyId), ctx.switchToHttp().getResponse<FastifyReply>());
    return true;
  }
}
