import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startPrivateRedis } from './support/redis';

const harnesses: Harness[] = [];
after(async () => {
  for (const h of harnesses) await h.close();
});

describe('per-key rate limits', () => {
  test('429 rate_limited with Retry-After and RateLimit-* headers, per key', async () => {
    const h = await startBaton({ RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '1' }, { worker: false });
    harnesses.push(h);
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => h.request('GET', '/v1/tasks/tsk_00000000000000000000000000', { key: a.key })),
    );
    const limited = replies.filter((r) => r.status === 429);
    assert.ok(limited.length >= 5, `expected several 429s, got ${replies.map((r) => r.status).join(',')}`);
    const ok = replies.find((r) => r.status === 404)!;
    assert.equal(ok.headers.get('ratelimit-limit'), '5');
    assert.ok(Number(ok.headers.get('ratelimit-remaining')) >= 0);
    const r = limited[0];
    assert.equal(r.body.error.code, 'rate_limited');
    assert.equal(r.body.error.retryable, true);
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.equal(r.headers.get('ratelimit-remaining'), '0');
    const other = await h.request('GET', '/v1/tasks/tsk_00000000000000000000000000', { key: b.key });
    assert.equal(other.status, 404, 'another key has its own budget');
    await new Promise((res) => setTimeout(res, 1100));
    assert.equal(
      (await h.request('GET', '/v1/tasks/tsk_00000000000000000000000000', { key: a.key })).status,
      404,
      'the budget refills',
    );
  });
});

describe('system backpressure', () => {
  test('503 overloaded past the backlog bound, with Retry-After; nothing accepted is lost', async () => {
    const h = await startBaton({ BACKLOG_LIMIT: '5' }, { worker: false });
    harnesses.push(h);
    const t = await h.tenant('member');
    const accepted: string[] = [];
    let overloaded;
    for (let i = 0; i < 20 && !overloaded; i++) {
      const r = await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } });
      if (r.status === 202) accepted.push(r.body.id);
      else if (r.status === 503) overloaded = r;
      else assert.fail(`unexpected ${r.status}`);
      await new Promise((res) => setTimeout(res, 550)); // past the backlog sample's 500 ms: each request sees a fresh count
    }
    assert.ok(overloaded, 'the API refused once the backlog passed 5');
    assert.equal(overloaded.body.error.code, 'overloaded');
    assert.equal(overloaded.body.error.retryable, true);
    assert.ok(Number(overloaded.headers.get('retry-after')) >= 1);
    // Backlogs 0 to 5 are within the bound; the request that finds 6 waiting is refused.
    assert.equal(accepted.length, 6, `accepted ${accepted.length}`);
    assert.equal(
      await h.runtime.prisma.task.count({ where: { tenantId: t.tenantId } }),
      accepted.length,
      'refused requests left no rows',
    );
    await h.startWorker();
    await waitFor(
      async () =>
        (await h.runtime.prisma.task.count({ where: { tenantId: t.tenantId, status: 'succeeded' } })) ===
        accepted.length,
    );
    await waitFor(
      async () => (await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } })).status === 202,
      5000,
      'accepting again',
    );
  });

  test('Redis down: readyz 503 and creates 503 overloaded; back when Redis is', async () => {
    const redis = await startPrivateRedis();
    try {
      const h = await startBaton({ REDIS_URL: redis.url }, { worker: false });
      harnesses.push(h);
      const t = await h.tenant('member');
      assert.equal((await h.request('GET', '/readyz')).status, 200);
      await redis.stop();
      const ready = await h.request('GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.redis, /^down/);
      await new Promise((res) => setTimeout(res, 600));
      const r = await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'overloaded');
      await redis.start();
      await waitFor(async () => (await h.request('GET', '/readyz')).status === 200, 10_000, 'ready again');
      await waitFor(
        async () => (await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } })).status === 202,
        10_000,
        'accepting again',
      );
    } finally {
      await redis.stop();
    }
  });
});
