import type { Cluster, Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLease } from '@baton/core';

/** The answer to one request: pass or not, with what its RateLimit-* headers say. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests the key has left in the window. */
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
  /** Refused: seconds until a request may pass. */
  retryAfterSeconds?: number;
}

/** A key's points taken from Redis and not handed out yet, and what Redis said was left beside them. */
interface Lease {
  left: number;
  /** The window's end (ms epoch): unused points lapse with it. */
  until: number;
  /** Points the key had left in Redis after this lease was taken. */
  remaining: number;
  /** Refused until then (ms epoch): the key's requests are answered 429 here without asking Redis. */
  blockedUntil?: number;
  /** A lease (or a window's first answer) on its way: the key's other requests wait for it instead of asking too. */
  taking?: Promise<unknown>;
}

const MAX_KEYS = 10_000;

/**
 * Per-API-key rate limit on Redis, shared by every API process (rate-limiter-flexible): `limit` a second sustained,
 * plus a `burst` allowance per 10 s. A busy key's points are taken in leases (see rateLease): one Redis call serves
 * that key's next requests in this process, and a key near its limit is counted request by request.
 */
export class KeyRateLimiter {
  private readonly limiter: BurstyRateLimiter;
  private readonly leases = new Map<string, Lease>();

  constructor(
    redis: Redis | Cluster,
    prefix: string,
    readonly limit: number,
    burst: number,
  ) {
    this.limiter = new BurstyRateLimiter(
      new RateLimiterRedis({ storeClient: redis, keyPrefix: prefix, points: limit, duration: 1 }),
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:burst`,
        points: Math.max(1, burst),
        duration: 10,
      }),
    );
  }

  /** One request of this key. Null when Redis could not be asked: the caller lets it pass (backpressure answers). */
  async take(keyId: string): Promise<RateDecision | null> {
    for (;;) {
      const lease = this.leases.get(keyId);
      if (lease && lease.left > 0 && lease.until > Date.now()) {
        lease.left -= 1;
        return this.passed(lease);
      }
      if (lease?.blockedUntil && lease.blockedUntil > Date.now()) return this.refused(lease.blockedUntil - Date.now());
      if (!lease?.taking) break;
      await lease.taking;
    }
    const now = Date.now();
    const known = this.leases.get(keyId);
    const fresh = known !== undefined && known.until > now;
    const points = rateLease(fresh ? known.remaining : undefined);
    const lease: Lease = known ?? { left: 0, until: 0, remaining: 0 };
    const asking = this.limiter.consume(keyId, points);
    // The key's other requests wait for a lease, and for the first answer of a window (which sizes the next lease);
    // near the limit, requests of one point each go to Redis side by side. A key not known yet is never fresh, so it
    // is remembered here.
    if (points > 1 || !fresh) {
      lease.taking = asking.catch(() => undefined);
      if (!known) this.remember(keyId, lease);
    }
    let res: RateLimiterRes;
    try {
      res = await asking;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return null;
      lease.left = 0;
      lease.remaining = 0;
      lease.until = lease.blockedUntil = Date.now() + rejection.msBeforeNext;
      return this.refused(rejection.msBeforeNext);
    } finally {
      lease.taking = undefined;
    }
    lease.left = points - 1; // this request takes one
    lease.remaining = Math.max(0, res.remainingPoints);
    lease.until = Date.now() + res.msBeforeNext;
    return this.passed(lease);
  }

  private refused(msBeforeNext: number): RateDecision {
    const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return { allowed: false, limit: this.limit, remaining: 0, resetSeconds: seconds, retryAfterSeconds: seconds };
  }

  private passed(lease: Lease): RateDecision {
    return {
      allowed: true,
      limit: this.limit,
      remaining: lease.remaining + lease.left,
      resetSeconds: Math.max(0, Math.ceil((lease.until - Date.now()) / 1000)),
    };
  }

  private remember(keyId: string, lease: Lease): void {
    if (this.leases.size >= MAX_KEYS) {
      const now = Date.now();
      for (const [id, l] of this.leases)
        if (l.until <= now && (l.blockedUntil ?? 0) <= now && !l.taking) this.leases.delete(id);
    }
    this.leases.set(keyId, lease);
  }
}
