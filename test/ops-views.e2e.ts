import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

let h: Harness;
let key: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  h = await startBaton();
  key = (await h.tenant('member')).key;
  receiver = await startReceiver((path, n) => {
    if (path.startsWith('/flaky')) return { status: n <= 2 ? 503 : 200 };
    if (path.startsWith('/gone')) return { status: 404 };
    return { status: 200 };
  });
});
after(async () => {
  await receiver.close();
  await h.close();
});

const admin = (path: string) => h.request('GET', path, { key: h.adminKey });
const submit = (body: unknown) => h.request('POST', '/v1/tasks', { key, body });
const settle = (ids: string[]) =>
  waitFor(
    async () =>
      (await h.runtime.prisma.task.count({ where: { id: { in: ids }, status: { in: ['succeeded', 'failed'] } } })) ===
      ids.length,
    20_000,
    'tasks to finish',
  );

describe('operator views', () => {
  test('retries per success and dead letters per kind', async () => {
    const ids = [
      (await submit({ handler: 'http', payload: { url: `${receiver.url}/flaky/a` }, maxAttempts: 5 })).body.id,
      (await submit({ handler: 'http', payload: { url: `${receiver.url}/flaky/b` }, maxAttempts: 5 })).body.id,
      (await submit({ handler: 'http', payload: { url: `${receiver.url}/gone` } })).body.id,
      ...(await Promise.all([1, 2, 3].map(async () => (await submit({ handler: 'noop' })).body.id))),
    ];
    await settle(ids);
    const retries = await admin('/v1/ops/retries?windowMs=600000');
    assert.equal(retries.status, 200);
    assert.deepEqual(retries.body.data, [
      // 2 successes after 3 attempts each, 1 permanent failure after 1: (7 - 2 - 1) / 2 retries per success
      { handler: 'http', succeeded: 2, failed: 1, attempts: 7, retriesPerSuccess: 2 },
      { handler: 'noop', succeeded: 3, failed: 0, attempts: 3, retriesPerSuccess: 0 },
    ]);
    const dead = await admin('/v1/ops/dead-letters?windowMs=600000');
    assert.deepEqual(
      Object.fromEntries(dead.body.data.map((d: { kind: string; count: number }) => [d.kind, d.count])),
      { task: 1, batch_job: 0, inference_item: 0, delivery: 0 },
    );
  });

  test('work waiting too long, per handler; delayed work is not waiting', async () => {
    await h.request('POST', '/v1/queues/tasks/pause', { key: h.adminKey });
    try {
      await submit({ handler: 'sleep', payload: { ms: 10 } });
      await submit({ handler: 'sleep', payload: { ms: 10 } });
      await submit({ handler: 'noop', delayMs: 60_000 });
      await new Promise((r) => setTimeout(r, 400));
      const pending = await admin('/v1/ops/pending?olderThanMs=300');
      assert.equal(pending.status, 200);
      assert.equal(pending.body.data.length, 1);
      assert.equal(pending.body.data[0].handler, 'sleep');
      assert.equal(pending.body.data[0].waiting, 2);
      assert.ok(pending.body.data[0].oldestWaitingMs >= 300);
      assert.deepEqual((await admin('/v1/ops/pending?olderThanMs=60000')).body.data, []);
    } finally {
      await h.request('POST', '/v1/queues/tasks/resume', { key: h.adminKey });
    }
  });

  test('bad windows are 400; members are refused', async () => {
    for (const bad of [
      '/v1/ops/retries?windowMs=5',
      '/v1/ops/pending?olderThanMs=-1',
      '/v1/ops/dead-letters?windowMs=abc',
    ]) {
      const r = await admin(bad);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'validation_failed');
    }
    assert.equal((await h.request('GET', '/v1/ops/pending', { key })).status, 403);
  });
});
