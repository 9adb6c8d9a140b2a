import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newId } from '@baton/core';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver, type Hit } from './support/receiver';
import { startSmtp } from './support/smtp';

let h: Harness;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
/** /down fails its first `downFailures` requests. */
let downFailures = Infinity;

before(async () => {
  receiver = await startReceiver((path, n) => {
    if (path === '/flaky') {
      // 500, then 429 asking for 1 s, then 503, then 200.
      if (n === 1) return { status: 500 };
      if (n === 2) return { status: 429, headers: { 'retry-after': '1' } };
      if (n === 3) return { status: 503 };
      return { status: 200 };
    }
    if (path === '/down') return { status: n <= downFailures ? 500 : 204 };
    // Asks for 2 s between attempts: time for the test to delete the subscription in between.
    if (path.startsWith('/gone/')) return { status: 429, headers: { 'retry-after': '2' } };
    return { status: 200 };
  });
  // The first message to flaky@ is refused with a temporary failure; SMTP failures are retried like webhooks.
  smtp = await startSmtp((n, to) => (to === 'flaky@example.com' && n === 1 ? 451 : undefined));
  h = await startBaton({
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Baton <baton@example.com>',
    PUBLIC_URL: 'https://baton.example.com',
    NOTIFY_DISPATCH_INTERVAL_MS: '100',
    NOTIFY_BACKOFF_BASE_MS: '50',
    NOTIFY_BACKOFF_MAX_MS: '200',
    NOTIFY_MAX_ATTEMPTS: '5',
    NOTIFY_TIMEOUT_MS: '3000',
    // 1,000 submissions in a burst
    RATE_LIMIT_PER_SECOND: '100000',
  });
});
after(async () => {
  await h.close();
  await receiver.close();
  await smtp.close();
});

/** Verifies a hit as a Standard Webhooks receiver would; returns the parsed body. */
function verify(hit: Hit, secret: string): any {
  return new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>);
}

const deliveriesOf = async (key: string, subject: string) =>
  (await h.request('GET', `/v1/notifications?subject=${subject}`, { key })).body.data as any[];

/** Waits until the (only) delivery about `subject` has `status`; returns it. */
const deliveryWhen = (key: string, subject: string, status: string) =>
  waitFor(
    async () => {
      const [d] = await deliveriesOf(key, subject);
      return d?.status === status && d;
    },
    20_000,
    `a ${status} delivery of ${subject}`,
  );

describe('webhooks', () => {
  test('a receiver failing 3 times then succeeding gets the event 4 times, one webhook-id, all signed', async () => {
    const t = await h.tenant('member');
    const task = await h.request('POST', '/v1/tasks', {
      key: t.key,
      body: { handler: 'noop', notify: { webhook: { url: `${receiver.url}/flaky` } } },
    });
    assert.equal(task.status, 202);
    const secret: string = task.body.webhookSecret;
    assert.match(secret, /^whsec_/, 'a generated secret, shown once');
    assert.equal((await h.request('GET', `/v1/tasks/${task.body.id}`, { key: t.key })).body.webhookSecret, undefined);

    const hits = await waitFor(
      () => Promise.resolve(receiver.hitsOn('/flaky').length >= 4 && receiver.hitsOn('/flaky')),
      20_000,
      '4 attempts',
    );
    const delivery = await deliveryWhen(t.key, task.body.id, 'delivered');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.hitsOn('/flaky').length, 4, 'no attempt after the 2xx');
    const bodies = hits.map((hit) => verify(hit, secret));
    const ids = new Set(hits.map((hit) => hit.headers['webhook-id']));
    assert.equal(ids.size, 1, 'one webhook-id across retries');
    assert.equal([...ids][0], delivery.eventId);
    for (const body of bodies) {
      assert.equal(body.type, 'task.completed');
      assert.equal(body.data.id, task.body.id);
      assert.equal(body.data.status, 'succeeded');
      assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    }
    assert.ok(hits[2].at - hits[1].at >= 950, `Retry-After: 1 honoured (${hits[2].at - hits[1].at} ms)`);
    assert.equal(delivery.attempts, 4);
    assert.equal(delivery.lastStatusCode, 200);
    assert.equal(delivery.channel, 'webhook');
    assert.equal(delivery.nextRetryAt, undefined);
    assert.ok(!JSON.stringify(delivery).includes('whsec_'), 'no secret in API reads');
  });

  test('a receiver down for good: dead letter and delivery_failing alert (itself announced); replay, same id', async () => {
    const t = await h.tenant('member');
    const sub = await h.request('POST', '/v1/subscriptions', {
      key: t.key,
      body: { events: ['task.completed'], webhook: { url: `${receiver.url}/down` } },
    });
    assert.equal(sub.status, 201);
    const alerts = await h.request('POST', '/v1/subscriptions', {
      key: t.key,
      body: { events: ['alert.raised', 'alert.resolved'], webhook: { url: `${receiver.url}/alerts/${t.tenantId}` } },
    });
    const task = await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } });
    const dead = await deliveryWhen(t.key, task.body.id, 'failed');
    assert.equal(dead.attempts, 5);
    assert.equal(dead.lastStatusCode, 500);
    assert.equal(dead.subscriptionId, sub.body.id);
    const downHits = receiver.hitsOn('/down').filter((x) => x.headers['webhook-id'] === dead.eventId);
    assert.equal(downHits.length, 5);
    for (const hit of downHits) verify(hit, sub.body.secret);

    const letters = await h.request('GET', '/v1/dead-letters?kind=delivery', { key: h.adminKey });
    const letter = letters.body.data.find((l: any) => l.subjectId === dead.id);
    assert.ok(letter, 'a dead letter of kind delivery');
    assert.equal(letter.attempts, 5);
    const alert = await h.runtime.prisma.alert.findFirst({ where: { tenantId: t.tenantId, kind: 'delivery_failing' } });
    assert.equal(alert?.subject, sub.body.id);
    assert.equal(alert?.resolvedAt, null);
    const raised = await waitFor(() =>
      Promise.resolve(receiver.hitsOn(`/alerts/${t.tenantId}`).find((x) => JSON.parse(x.body).type === 'alert.raised')),
    );
    assert.equal(verify(raised, alerts.body.secret).data.kind, 'delivery_failing');

    // After the replay the receiver fails twice more: the replay's fresh budget carries it through to the third try.
    downFailures = receiver.hitsOn('/down').length + 2;
    const replay = await h.request('POST', `/v1/dead-letters/${letter.id}/replay`, { key: h.adminKey });
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    const delivered = await deliveryWhen(t.key, task.body.id, 'delivered');
    assert.equal(delivered.attempts, 8);
    const all = receiver.hitsOn('/down').filter((x) => x.headers['webhook-id'] === dead.eventId);
    assert.equal(all.length, 8, 'the replay sent it again, with the same webhook-id');
    for (const hit of all.slice(5)) verify(hit, sub.body.secret);
    assert.equal((await h.request('POST', `/v1/dead-letters/${letter.id}/replay`, { key: h.adminKey })).status, 409);
    const resolved = await waitFor(() =>
      Promise.resolve(
        receiver.hitsOn(`/alerts/${t.tenantId}`).find((x) => JSON.parse(x.body).type === 'alert.resolved'),
      ),
    );
    assert.equal(verify(resolved, alerts.body.secret).data.id, alert.id, 'a later success resolves the alert');
  });

  test('an event written straight to the outbox (e.g. a batch) reaches its notify targets, webhook and email', async () => {
    const t = await h.tenant('member');
    const batchId = newId('batch');
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const payload = {
      id: batchId,
      name: 'nightly',
      status: 'failed',
      outcome: 'partial',
      counts: { total: 3, queued: 0, running: 0, succeeded: 2, failed: 1, cancelled: 0 },
      failedItems: [{ index: 1, error: { code: 'FAILED', message: 'cluster said no' } }],
    };
    await h.runtime.prisma.$transaction([
      h.runtime.prisma.batch.create({
        data: {
          id: batchId,
          tenantId: t.tenantId,
          policy: {},
          total: 3,
          queued: 0,
          notify: { webhook: { url: `${receiver.url}/batch`, secret }, email: ['team@example.com'] },
        },
      }),
      h.runtime.prisma.notificationEvent.create({
        data: {
          id: newId('notification'),
          tenantId: t.tenantId,
          type: 'batch.completed',
          subjectType: 'batch',
          subjectId: batchId,
          dedupKey: `batch.completed:${batchId}:0`,
          payload,
        },
      }),
    ]);
    const hit = await waitFor(() => Promise.resolve(receiver.hitsOn('/batch')[0]));
    assert.deepEqual(verify(hit, secret).data, payload);
    const mail = await waitFor(() =>
      Promise.resolve(smtp.mails.find((m) => m.headers.get('x-baton-event-id') === hit.headers['webhook-id'])),
    );
    assert.equal((mail.to as any).text, 'team@example.com');
    assert.match(mail.subject ?? '', new RegExp(`${batchId}.*partial.*1 failed`));
    assert.match(mail.text ?? '', /succeeded: 2/);
    assert.match(mail.text ?? '', /#1: cluster said no/);
    assert.match(mail.text ?? '', new RegExp(`https://baton.example.com/v1/batches/${batchId}`));
    assert.match(String(mail.html), /<li><b>#1<\/b>: cluster said no<\/li>/);
    const d = await deliveriesOf(t.key, batchId);
    assert.deepEqual(d.map((x) => x.channel).sort(), ['email', 'webhook']);
  });
});

describe('subscriptions', () => {
  test('deleting a subscription cancels its pending deliveries', async () => {
    const t = await h.tenant('member');
    const sub = await h.request('POST', '/v1/subscriptions', {
      key: t.key,
      body: { webhook: { url: `${receiver.url}/gone/${t.tenantId}` } },
    });
    const task = await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } });
    const retrying = await waitFor(async () => {
      const [d] = await deliveriesOf(t.key, task.body.id);
      return d?.status === 'pending' && d.attempts >= 1 && d;
    });
    assert.equal(retrying.lastStatusCode, 429);
    assert.ok(Date.parse(retrying.nextRetryAt) > Date.now(), 'Retry-After puts the next try in the future');
    assert.ok(!Number.isNaN(Date.parse(retrying.nextRetryAt)), 'a pending delivery shows its next retry time');
    assert.equal((await h.request('DELETE', `/v1/subscriptions/${sub.body.id}`, { key: t.key })).status, 204);
    const d = await deliveryWhen(t.key, task.body.id, 'cancelled');
    assert.ok(d.attempts < 5);
    const hits = receiver.hitsOn(`/gone/${t.tenantId}`).length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.hitsOn(`/gone/${t.tenantId}`).length, hits, 'no attempt after the delete');
  });
});

describe('alerts', () => {
  test('one open alert per kind and subject; system-wide alerts reach the operators’ subscriptions', async () => {
    const sub = await h.request('POST', '/v1/subscriptions', {
      key: h.adminKey,
      body: { events: ['alert.raised', 'alert.resolved'], webhook: { url: `${receiver.url}/ops-alerts` } },
    });
    assert.equal(sub.status, 201);
    const alert = { tenantId: null, kind: 'backlog' as const, subject: 'queue:tasks', message: '250,000 waiting' };
    assert.equal(await h.runtime.stores.alerts.raise(alert), true);
    assert.equal(await h.runtime.stores.alerts.raise(alert), false, 'already open');
    const raised = await waitFor(() => Promise.resolve(receiver.hitsOn('/ops-alerts')[0]));
    const body = verify(raised, sub.body.secret);
    assert.equal(body.type, 'alert.raised');
    assert.equal(body.data.kind, 'backlog');
    assert.equal(body.data.subject, 'queue:tasks');
    assert.match(body.data.id, /^alr_/);
    assert.equal(await h.runtime.stores.alerts.resolve('backlog', 'queue:tasks'), true);
    assert.equal(await h.runtime.stores.alerts.resolve('backlog', 'queue:tasks'), false, 'nothing open');
    const resolved = await waitFor(() => Promise.resolve(receiver.hitsOn('/ops-alerts')[1]));
    const closed = verify(resolved, sub.body.secret);
    assert.equal(closed.type, 'alert.resolved');
    assert.equal(closed.data.id, body.data.id);
    assert.ok(!Number.isNaN(Date.parse(closed.data.resolvedAt)));
    assert.equal(await h.runtime.stores.alerts.raise(alert), true, 'a new alert once the last one is resolved');
    await waitFor(() => Promise.resolve(receiver.hitsOn('/ops-alerts').length === 3));
    const events = await h.runtime.prisma.notificationEvent.count({
      where: { type: { startsWith: 'alert.' }, tenantId: null },
    });
    assert.equal(events, 3, 'one event per raise and per resolve');
  });
});

describe('email', () => {
  test('a tenant email subscription: plain-text and HTML parts; a refused send is retried', async () => {
    const t = await h.tenant('member');
    const sub = await h.request('POST', '/v1/subscriptions', {
      key: t.key,
      body: { events: ['task.completed'], email: ['flaky@example.com'] },
    });
    assert.equal(sub.status, 201);
    assert.equal(sub.body.secret, undefined);
    const task = await h.request('POST', '/v1/tasks', {
      key: t.key,
      body: { handler: 'http', payload: { url: `${receiver.url}/nothing-here`, method: 'POST' }, maxAttempts: 1 },
    });
    const d = await deliveryWhen(t.key, task.body.id, 'delivered');
    assert.equal(d.attempts, 2, 'the 451 was retried');
    assert.equal(smtp.attempts('flaky@example.com'), 2);
    assert.equal(d.lastStatusCode, 250);
    const mail = smtp.mails.find((m) => m.headers.get('x-baton-event-id') === d.eventId)!;
    assert.ok(mail.text && mail.html, 'both parts');
    assert.match(mail.subject ?? '', new RegExp(task.body.id));
    assert.equal((mail.from as any).text, '"Baton" <baton@example.com>');
    assert.match(mail.text, new RegExp(`https://baton.example.com/v1/tasks/${task.body.id}`));
  });
});

describe('1,000 completions', () => {
  test('make 1,000 events, no duplicate, each delivered with its own verified webhook-id', async () => {
    const t = await h.tenant('member');
    const sub = await h.request('POST', '/v1/subscriptions', {
      key: t.key,
      body: { webhook: { url: `${receiver.url}/bulk/${t.tenantId}` } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const replies = await Promise.all(
        Array.from({ length: 100 }, () => h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } })),
      );
      for (const r of replies) {
        assert.equal(r.status, 202);
        ids.push(r.body.id);
      }
    }
    const path = `/bulk/${t.tenantId}`;
    await waitFor(
      () => Promise.resolve(new Set(receiver.hitsOn(path).map((x) => x.headers['webhook-id'])).size >= 1000),
      120_000,
      '1,000 deliveries',
    );
    const events = await h.runtime.prisma.notificationEvent.groupBy({
      by: ['subjectId'],
      where: { subjectId: { in: ids } },
      _count: true,
    });
    assert.equal(events.length, 1000);
    assert.ok(
      events.every((e) => e._count === 1),
      'one event per task',
    );
    const hits = receiver.hitsOn(path);
    for (const hit of hits) assert.equal(verify(hit, sub.body.secret).type, 'task.completed');
    const subjects = new Set(hits.map((x) => JSON.parse(x.body).data.id));
    assert.equal(subjects.size, 1000);
    const deliveries = await h.runtime.prisma.notificationDelivery.count({ where: { subscriptionId: sub.body.id } });
    assert.equal(deliveries, 1000);
  });
});
