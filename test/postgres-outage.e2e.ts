import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';
import { startTcpProxy } from './support/tcp-proxy';

// Postgres goes away for a few seconds in the middle of work (every connection dropped, new ones refused), through
// a proxy in front of the real server. Accepted work must all finish, once each, and nothing may fail for good.
let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
let h: Harness;
let key: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  receiver = await startReceiver(() => ({ status: 200 }));
  proxy = await startTcpProxy({ host: '127.0.0.1', port: 5432 });
  h = await startBaton(
    {
      TASK_CONCURRENCY: '8',
      RECONCILE_INTERVAL_MS: '1000',
      DATABASE_POOL_SIZE: '4',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    },
    { databaseUrl: (url) => url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`) },
  );
  key = (await h.tenant('member')).key;
  // A listener for completions, so that each task writes its completion event: one event per task is the proof
  // below that none completed twice.
  const sub = await h.request('POST', '/v1/subscriptions', {
    key,
    body: { events: ['task.completed'], webhook: { url: `${receiver.url}/done` } },
  });
  assert.equal(sub.status, 201);
});
after(async () => {
  await h.close();
  await proxy.close();
  await receiver.close();
});

describe('Postgres away for a while', () => {
  test('the API answers 503 overloaded, workers wait, and every accepted task finishes exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await h.request('POST', '/v1/tasks', {
        key,
        body: { handler: 'sleep', payload: { ms: 150, steps: 1 } },
      });
      assert.equal(r.status, 202);
      ids.push(r.body.id);
    }
    await new Promise((r) => setTimeout(r, 300));
    proxy.cut();
    try {
      const ready = await h.request('GET', '/readyz');
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.postgres, /^down/);
      const refused = await h.request('POST', '/v1/tasks', { key, body: { handler: 'noop' } });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'overloaded');
      assert.equal(refused.body.error.retryable, true);
      await new Promise((r) => setTimeout(r, 4000)); // workers keep trying to claim and to record outcomes
    } finally {
      proxy.restore();
    }
    const count = async (status: string) =>
      h.runtime.prisma.task.count({ where: { id: { in: ids }, status: status as never } });
    await waitFor(
      async () => (await count('succeeded')) === ids.length,
      60_000,
      'every task to succeed after the outage',
    );
    assert.equal(await count('failed'), 0);
    assert.equal(
      await h.runtime.prisma.deadLetter.count({ where: { subjectId: { in: ids } } }),
      0,
      'nothing failed for good',
    );
    const events = await h.runtime.prisma.notificationEvent.groupBy({
      by: ['subjectId'],
      where: { subjectId: { in: ids } },
      _count: true,
    });
    assert.equal(events.length, ids.length);
    assert.ok(
      events.every((e) => e._count === 1),
      'one completion per task',
    );
  });
});
