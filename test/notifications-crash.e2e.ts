import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newId } from '@baton/core';
import { purgeNotificationHistory, resolveTargets } from '@baton/notifications';
import { startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

const WORKER = 'dist/apps/worker/src/main.js';
const ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  NOTIFY_DISPATCH_INTERVAL_MS: '100',
  NOTIFY_BACKOFF_BASE_MS: '50',
  NOTIFY_BACKOFF_MAX_MS: '200',
  NOTIFY_TIMEOUT_MS: '30000',
  // A delivery whose worker died is taken over 2 s after its lock was last renewed.
  NOTIFY_LOCK_MS: '2000',
  RECONCILE_INTERVAL_MS: '500',
  RECONCILE_GRACE_MS: '200',
};

let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let child: ChildProcess | undefined;
let childLogs = '';

before(async () => {
  // The first request to /held is held for a minute: the worker that sent it is killed meanwhile.
  receiver = await startReceiver((path, n) =>
    path === '/held' && n === 1 ? { status: 200, delayMs: 60_000 } : { status: 200 },
  );
  h = await startBaton(ENV, { worker: false });
});
after(async () => {
  child?.kill('SIGKILL');
  await h.close();
  await receiver.close();
});

/** An outbox row of a task.completed event, as a completing task writes it. */
function taskEvent(tenantId: string) {
  const subjectId = newId('task');
  return {
    id: newId('notification'),
    tenantId,
    type: 'task.completed',
    subjectType: 'task',
    subjectId,
    dedupKey: `task.completed:${subjectId}:0`,
    payload: { id: subjectId, status: 'succeeded' },
  };
}

/** A worker in a process of its own, on the harness's database and queue prefix. */
function spawnWorker(): ChildProcess {
  return spawn(process.execPath, [WORKER], {
    env: {
      ...process.env,
      ...ENV,
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: h.prefix,
      ADMIN_API_KEY: h.adminKey,
      LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('crashes', () => {
  test('a worker killed in the middle of a delivery: another delivers it, with the same webhook-id', async () => {
    child = spawnWorker();
    child.stdout!.on('data', (d: Buffer) => (childLogs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (childLogs += d.toString()));
    const t = await h.tenant('member');
    const task = await h.request('POST', '/v1/tasks', {
      key: t.key,
      body: { handler: 'noop', notify: { webhook: { url: `${receiver.url}/held` } } },
    });
    assert.equal(task.status, 202);
    await waitFor(() => Promise.resolve(receiver.hitsOn('/held').length === 1), 30_000, 'the first attempt');
    child.kill('SIGKILL'); // mid-request: the receiver still holds it
    await new Promise((r) => child!.once('exit', r));
    child = undefined;
    await h.startWorker();
    const hits = await waitFor(
      () => Promise.resolve(receiver.hitsOn('/held').length >= 2 && receiver.hitsOn('/held')),
      30_000,
      'the attempt after the crash',
    );
    const ids = new Set(hits.map((x) => x.headers['webhook-id']));
    assert.equal(ids.size, 1);
    for (const hit of hits)
      new Webhook(task.body.webhookSecret).verify(hit.body, hit.headers as Record<string, string>);
    const [d] = await waitFor(async () => {
      const r = await h.request('GET', `/v1/notifications?subject=${task.body.id}`, { key: t.key });
      return r.body.data[0]?.status === 'delivered' && r.body.data;
    });
    assert.equal(d.eventId, [...ids][0]);
    assert.equal(d.attempts, 1, 'the attempt cut short by the crash left no record: it was made again');
    // The lease the killed worker lost is counted by the worker that took the job back (this process).
    const metrics = (await h.request('GET', '/metrics')).body as string;
    assert.match(metrics, /^baton_job_stalled_total\{queue="notifications"\} [1-9]/m);
    assert.match(metrics, /^baton_notification_deliveries_total\{channel="webhook",outcome="delivered"\} [1-9]/m);
    const events = await h.runtime.prisma.notificationEvent.count({ where: { subjectId: task.body.id } });
    assert.equal(events, 1, 'no second event');
    assert.match(childLogs, /"msg":"worker started"/, 'the killed worker logged');
    assert.ok(!childLogs.includes(task.body.webhookSecret.slice(6)), 'no secret in the logs');
    assert.ok(!childLogs.includes('whsec_'), 'no secret in the logs');
  });

  test('a delivery committed but never enqueued (crash between the two) is sent by the reconciler', async () => {
    await h.startWorker();
    const t = await h.tenant('member');
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const sub = newId('subscription');
    const event = taskEvent(t.tenantId);
    const eventId = event.id;
    // What a dispatcher that died after its commit leaves: a dispatched event, a pending delivery, no job.
    await h.runtime.prisma.$transaction([
      h.runtime.prisma.notificationSubscription.create({
        data: {
          id: sub,
          tenantId: t.tenantId,
          events: [],
          channel: 'webhook',
          url: `${receiver.url}/orphan`,
          secret,
          emails: [],
        },
      }),
      h.runtime.prisma.notificationEvent.create({
        data: { ...event, dispatchedAt: new Date() },
      }),
      h.runtime.prisma.notificationDelivery.create({
        data: {
          id: newId('delivery'),
          eventId,
          tenantId: t.tenantId,
          channel: 'webhook',
          target: `${receiver.url}/orphan`,
          subscriptionId: sub,
          nextAttemptAt: new Date(Date.now() - 1000),
        },
      }),
    ]);
    const hit = await waitFor(() => Promise.resolve(receiver.hitsOn('/orphan')[0]), 20_000, 'the orphan delivery');
    assert.equal(hit.headers['webhook-id'], eventId);
    new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>);
  });

  test('dispatchers racing over the same outbox write one delivery per event and target', async () => {
    await h.stopWorker(); // only the racers below dispatch
    const t = await h.tenant('member');
    const store = h.runtime.stores.notifications;
    for (const url of [`${receiver.url}/race-a`, `${receiver.url}/race-b`]) {
      await store.createSubscription({
        id: newId('subscription'),
        tenantId: t.tenantId,
        events: ['task.completed'],
        channel: 'webhook',
        url,
        secret: `whsec_${Buffer.alloc(32, 5).toString('base64')}`,
        emails: [],
      });
    }
    const events = Array.from({ length: 500 }, () => taskEvent(t.tenantId));
    await h.runtime.prisma.notificationEvent.createMany({ data: events });
    const resolve = (event: { type: string }, notify: unknown, subs: any[]) => resolveTargets(event.type, notify, subs);
    const race = async () => {
      let made = 0;
      for (;;) {
        const r = await store.dispatch(50, resolve);
        made += r.deliveries.length;
        if (r.events === 0) return made;
      }
    };
    const made = await Promise.all([race(), race(), race(), race()]);
    assert.equal(
      made.reduce((a, b) => a + b, 0),
      1000,
      `deliveries written by each racer: ${made.join(', ')}`,
    );
    assert.ok(made.filter((n) => n > 0).length > 1, 'the racers shared the work');
    const ids = events.map((e) => e.id);
    assert.equal(await h.runtime.prisma.notificationDelivery.count({ where: { eventId: { in: ids } } }), 1000);
    assert.equal(
      await h.runtime.prisma.notificationEvent.count({ where: { id: { in: ids }, dispatchedAt: null } }),
      0,
      'every event dispatched',
    );
  });

  test('history past retention is purged: settled events go with their deliveries, pending ones stay', async () => {
    const t = await h.tenant('member');
    const old = new Date(Date.now() - 40 * 24 * 3600_000);
    const make = async (status: string, dispatched: boolean) => {
      const event = taskEvent(t.tenantId);
      await h.runtime.prisma.notificationEvent.create({
        data: {
          ...event,
          createdAt: old,
          dispatchedAt: dispatched ? old : null,
          deliveries: dispatched
            ? { create: { id: newId('delivery'), tenantId: t.tenantId, channel: 'webhook', target: 'x', status } }
            : undefined,
        },
      });
      return event.id;
    };
    const delivered = await make('delivered', true);
    const pending = await make('pending', true);
    const undispatched = await make('pending', false);
    const cutoff = new Date(Date.now() - 30 * 24 * 3600_000);
    await purgeNotificationHistory(h.runtime.stores.notifications, cutoff);
    const left = await h.runtime.prisma.notificationEvent.findMany({
      where: { id: { in: [delivered, pending, undispatched] } },
      select: { id: true },
    });
    assert.deepEqual(left.map((e) => e.id).sort(), [pending, undispatched].sort());
    assert.equal(await h.runtime.prisma.notificationDelivery.count({ where: { eventId: delivered } }), 0);
  });
});
