import assert from 'node:assert/strict';
import IORedis from 'ioredis';
import { after, before, describe, test } from 'node:test';
import { newId } from '@baton/core';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';
import { startPrivateRedis } from './support/redis';

// This file flushes Redis, so it runs against a redis-server of its own.
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let h: Harness;
let t: { tenantId: string; key: string };
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  redis = await startPrivateRedis();
  receiver = await startReceiver(() => ({ status: 200 }));
  h = await startBaton({
    REDIS_URL: redis.url,
    TASK_CONCURRENCY: '8',
    RECONCILE_INTERVAL_MS: '500',
    RECONCILE_GRACE_MS: '200',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  t = await h.tenant('member');
  // A listener for completions, so that each task writes its completion event: one event per task is the proof
  // below that none completed twice.
  const sub = await h.request('POST', '/v1/subscriptions', {
    key: t.key,
    body: { events: ['task.completed'], webhook: { url: `${receiver.url}/done` } },
  });
  assert.equal(sub.status, 201);
});
after(async () => {
  await h.close();
  await receiver.close();
  await redis.stop();
});

const statusCounts = async (ids: string[]) => {
  const rows = await h.runtime.prisma.task.groupBy({ by: ['status'], where: { id: { in: ids } }, _count: true });
  return Object.fromEntries(rows.map((r) => [r.status, r._count]));
};

describe('the reconciler: Postgres is the truth, Redis is repaired from it', () => {
  test('a task committed but never enqueued (crash between the two) still runs', async () => {
    const id = newId('task');
    // What a crashed API process leaves behind: the row, no job.
    await h.runtime.prisma.task.create({ data: { id, tenantId: t.tenantId, handler: 'noop', maxAttempts: 3 } });
    await waitFor(
      async () => (await h.runtime.prisma.task.findUnique({ where: { id } }))?.status === 'succeeded',
      20_000,
      'orphan task to run',
    );
  });

  test('FLUSHALL mid-flight: every accepted task finishes exactly once', async () => {
    const ids: string[] = [];
    const submits = Array.from({ length: 300 }, (_, i) =>
      h.request('POST', '/v1/tasks', {
        key: t.key,
        body: { handler: 'sleep', payload: { ms: 150, steps: 1 }, priority: 1 + (i % 10) },
      }),
    );
    for (const r of await Promise.all(submits)) {
      assert.equal(r.status, 202);
      ids.push(r.body.id);
    }
    await waitFor(async () => ((await statusCounts(ids)).succeeded ?? 0) >= 40, 30_000, 'some tasks to finish');
    const flusher = new IORedis(redis.url);
    await flusher.flushall();
    flusher.disconnect();
    const midway = await statusCounts(ids);
    assert.ok(
      (midway.queued ?? 0) + (midway.running ?? 0) > 100,
      `work was still pending at the flush: ${JSON.stringify(midway)}`,
    );

    await waitFor(
      async () => ((await statusCounts(ids)).succeeded ?? 0) === ids.length,
      90_000,
      'every task to succeed after the flush',
    );
    const events = await h.runtime.prisma.notificationEvent.groupBy({
      by: ['subjectId'],
      where: { subjectId: { in: ids } },
      _count: true,
    });
    assert.equal(events.length, ids.length, 'one completion event per task');
    assert.ok(
      events.every((e) => e._count === 1),
      'no task completed twice',
    );
    const dead = await h.runtime.prisma.deadLetter.count({ where: { subjectId: { in: ids } } });
    assert.equal(dead, 0);
  });
});
