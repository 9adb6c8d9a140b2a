import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { BatonError } from '@baton/core';
import { metrics } from '@baton/observability';
import type { Runtime } from '@baton/runtime';
import type { BatonRequest } from './request';
import { RUNTIME } from './tokens';

/**
 * Per-API-key rate limit on Redis (shared by every API replica): RATE_LIMIT_PER_SECOND sustained, plus a
 * RATE_LIMIT_BURST allowance per 10 s. Answers carry RateLimit-* headers; a key over its rate gets 429 with
 * Retry-After. If Redis cannot be asked, the request passes: backpressure answers for a Redis that is away.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly limiter: BurstyRateLimiter;
  private readonly limit: number;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    const { config, redis } = runtime;
    const prefix = `${config.QUEUE_PREFIX}:rl`;
    this.limit = config.RATE_LIMIT_PER_SECOND;
    this.limiter = new BurstyRateLimiter(
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: prefix,
        points: config.RATE_LIMIT_PER_SECOND,
        duration: 1,
      }),
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:burst`,
        points: Math.max(1, config.RATE_LIMIT_BURST),
        duration: 10,
      }),
    );
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<BatonRequest>();
    if (!req.principal) return true; // public route
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    try {
      const res = await this.limiter.consume(req.principal.keyId);
      this.headers(reply, res);
      return true;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return true;
      this.headers(reply, rejection);
      metrics.rejected.inc({ reason: 'rate_limited' });
      const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new BatonError(
        'rate_limited',
        `this API key is over its rate of ${this.limit} requests/s`,
        undefined,
        retryAfter,
      );
    }
  }

  private headers(reply: FastifyReply, res: RateLimiterRes): void {
    void reply.header('ratelimit-limit', String(this.limit));
    void reply.header('ratelimit-remaining', String(Math.max(0, res.remainingPoints)));
    void reply.header('ratelimit-reset', String(Math.max(0, Math.ceil(res.msBeforeNext / 1000))));
  }
}
