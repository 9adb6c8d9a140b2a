import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import IORedis, { type Redis } from 'ioredis';
import { MAX_RATE_LEASE } from '@baton/core';
import { KeyRateLimiter } from './rate-limiter';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `spec_rl_${randomBytes(4).toString('hex')}`;
let redis: Redis;

before(() => {
  redis = new IORedis(url, { maxRetriesPerRequest: null });
});
after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/**
 * A connected connection of its own for one test, and a count of the limiter's calls on it: each is one EVALSHA (or
 * EVAL, the first time).
 */
async function counted(run: (client: Redis, calls: () => number) => Promise<void>): Promise<void> {
  const client = new IORedis(url, { maxRetriesPerRequest: null });
  await client.ping();
  let calls = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command, stream) => {
    if (/^eval/i.test(command.name)) calls += 1;
    return send(command, stream);
  };
  try {
    await run(client, () => calls);
  } finally {
    client.disconnect();
  }
}

test('a key gets its rate and its burst, no more, however many requests come at once', () =>
  counted(async (client, calls) => {
    const limiter = new KeyRateLimiter(client, `${prefix}:small`, 5, 1);
    const decisions = await Promise.all(Array.from({ length: 12 }, () => limiter.take('key_a')));
    const allowed = decisions.filter((d) => d?.allowed);
    assert.equal(allowed.length, 6, 'five a second and one of burst');
    const refused = decisions.find((d) => d && !d.allowed)!;
    assert.equal(refused.remaining, 0);
    assert.ok(refused.retryAfterSeconds! >= 1);
    assert.equal(refused.limit, 5);
    assert.ok(allowed.every((d) => d!.remaining >= 0 && d!.limit === 5));
    const asked = calls();
    assert.equal((await limiter.take('key_a'))?.allowed, false, 'still refused within the window');
    assert.equal(calls(), asked, 'a refused key is answered without asking Redis until its window ends');
    assert.equal((await limiter.take('key_b'))?.allowed, true, 'another key has its own budget');
  }));

test('a busy key is served from leases: fewer Redis calls, and still exactly its limit', () =>
  counted(async (client, calls) => {
    const limiter = new KeyRateLimiter(client, `${prefix}:busy`, 320, 1);
    const decisions = await Promise.all(Array.from({ length: 400 }, () => limiter.take('key_busy')));
    assert.equal(decisions.filter((d) => d?.allowed).length, 321, '320 a second and one of burst');
    assert.ok(calls() < 400, `${calls()} Redis calls for 400 requests`);
  }));

test('with a high limit, one Redis call serves up to MAX_RATE_LEASE requests, and the count in Redis keeps up', () =>
  counted(async (client, calls) => {
    const limiter = new KeyRateLimiter(client, `${prefix}:high`, 1_000_000, 1);
    let remaining = Infinity;
    for (let i = 0; i < 1000; i++) {
      const d = await limiter.take('key_high');
      assert.equal(d?.allowed, true);
      assert.ok(d.remaining <= remaining, 'what is left never grows within the window');
      remaining = d.remaining;
    }
    assert.ok(calls() <= 1000 / MAX_RATE_LEASE + 4, `${calls()} Redis calls for 1000 requests`);
    const inRedis = Number(await client.get(`${prefix}:high:key_high`));
    assert.ok(inRedis >= 1000 && inRedis < 1000 + MAX_RATE_LEASE, `Redis counted ${inRedis} for 1000 requests`);
  }));

test('Redis away: no decision, and the caller lets the request pass', async () => {
  const dead = new IORedis('redis://127.0.0.1:1', {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  dead.on('error', () => undefined);
  try {
    assert.equal(await new KeyRateLimiter(dead, `${prefix}:dead`, 5, 1).take('key_c'), null);
  } finally {
    dead.disconnect();
  }
});
