import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { BatonError, hashApiKey, sameSecret, SYSTEM_TENANT_ID, type Principal } from '@baton/core';
import { createRedis } from '@baton/queue';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from './tokens';

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

/**
 * Resolves API keys to principals. Lookups are cached briefly per process; a revocation evicts the key here at once
 * and in every other API process through a Redis channel.
 */
@Injectable()
export class ApiKeys implements OnModuleInit, OnModuleDestroy {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private subscriber?: Redis | Cluster;
  private readonly channel: string;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    this.channel = `${runtime.config.QUEUE_PREFIX}:api-key-revoked`;
  }

  async onModuleInit(): Promise<void> {
    this.subscriber = createRedis(this.runtime.redisTarget, { blocking: true, name: 'api-key-revocations' });
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', () => this.cache.clear());
    await this.subscriber.subscribe(this.channel).catch(() => undefined);
  }

  onModuleDestroy(): void {
    this.subscriber?.disconnect();
  }

  async resolve(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw new BatonError('unauthenticated', 'missing or malformed Authorization: Bearer <api key>');
    const secret = match[1];
    if (this.runtime.adminApiKey && sameSecret(secret, this.runtime.adminApiKey)) {
      return { keyId: 'key_admin', tenantId: SYSTEM_TENANT_ID, role: 'admin' };
    }
    const hash = hashApiKey(secret);
    const now = Date.now();
    let cached = this.cache.get(hash);
    if (!cached || cached.until < now) {
      const key = await this.runtime.stores.access.findKey(secret);
      const principal = key && !key.revoked ? { keyId: key.keyId, tenantId: key.tenantId, role: key.role } : null;
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      cached = { principal, until: now + CACHE_TTL_MS };
      this.cache.set(hash, cached);
    }
    if (!cached.principal) throw new BatonError('unauthenticated', 'unknown or revoked API key');
    return cached.principal;
  }

  async revoked(): Promise<void> {
    this.cache.clear();
    await this.runtime.redis.publish(this.channel, 'revoked').catch(() => undefined);
  }
}
