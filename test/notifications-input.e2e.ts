import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, type Harness } from './support/harness';

// No WEBHOOK_ALLOW_PRIVATE_NETWORKS here: private targets must be refused. No worker: nothing is sent.
// Valid URLs use public IP literals, so no DNS is needed; they are never called.
let h: Harness;
let t: { tenantId: string; key: string };
let other: { tenantId: string; key: string };

before(async () => {
  h = await startBaton({ SMTP_URL: 'smtp://127.0.0.1:1' }, { worker: false });
  t = await h.tenant('member');
  other = await h.tenant('member');
});
after(async () => {
  await h.close();
});

const subscribe = (body: unknown, key = t.key, headers?: Record<string, string>) =>
  h.request('POST', '/v1/subscriptions', { key, body, headers });

function assertEnvelope(r: { status: number; body: any; headers: Headers }, fields: string[]): void {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'validation_failed');
  assert.equal(r.body.error.retryable, false);
  assert.equal(r.body.error.requestId, r.headers.get('x-request-id'));
  assert.deepEqual(
    r.body.error.details.map((d: { field: string }) => d.field),
    fields,
    JSON.stringify(r.body.error.details),
  );
}

describe('subscription input', () => {
  test('bad URLs, private addresses, bad emails, unknown event types: 400 naming each field', async () => {
    const cases: [unknown, string[]][] = [
      [{ webhook: { url: 'ftp://93.184.216.34/h' } }, ['webhook.url']],
      [{ webhook: { url: 'not a url' } }, ['webhook.url']],
      [{ webhook: { url: 'https://user:pw@93.184.216.34/h' } }, ['webhook.url']],
      [{ webhook: { url: 'http://127.0.0.1:9/h' } }, ['webhook.url']],
      [{ webhook: { url: 'http://localhost:9/h' } }, ['webhook.url']],
      [{ webhook: { url: 'http://169.254.169.254/latest/meta-data' } }, ['webhook.url']],
      [{ webhook: { url: 'http://[::1]/h' } }, ['webhook.url']],
      [{ webhook: { url: 'http://10.0.0.8/h' } }, ['webhook.url']],
      [{ webhook: { url: 'https://93.184.216.34/h', secret: 'hunter2' } }, ['webhook.secret']],
      [{ webhook: 'https://93.184.216.34/h' }, ['webhook']],
      [{ email: ['not-an-address'] }, ['email[0]']],
      [{ email: ['ok@example.com', 'a b@example.com'] }, ['email[1]']],
      [{ email: [] }, ['email']],
      [{ events: ['task.done'], webhook: { url: 'https://93.184.216.34/h' } }, ['events[0]']],
      [{ events: 'task.completed', webhook: { url: 'https://93.184.216.34/h' } }, ['events']],
      [{ webhook: { url: 'https://93.184.216.34/h' }, email: ['ok@example.com'] }, ['webhook']],
      [{}, ['webhook']],
      [{ webhook: { url: 'https://93.184.216.34/h' }, sms: '+100' }, ['sms']],
    ];
    for (const [body, fields] of cases) assertEnvelope(await subscribe(body), fields);
    const r = await subscribe({ webhook: { url: 'http://127.0.0.1:9/h' } });
    assert.match(r.body.error.details[0].message, /private, loopback or link-local/);
    const malformed = await h.request('POST', '/v1/subscriptions', { key: t.key, raw: '{"webhook":' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'malformed_json');
  });

  test('a task whose notify is bad is refused the same way', async () => {
    const task = (notify: unknown) => h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop', notify } });
    assertEnvelope(await task({ webhook: { url: 'http://127.0.0.1:9/h' } }), ['notify.webhook.url']);
    assertEnvelope(await task({ email: ['nope'] }), ['notify.email[0]']);
    assertEnvelope(await task({ webhook: { url: 'https://93.184.216.34/h', secret: 'x' }, pager: 1 }), [
      'notify.pager',
      'notify.webhook.secret',
    ]);
    const ok = await task({ webhook: { url: 'https://93.184.216.34/h' }, email: ['team@example.com'] });
    assert.equal(ok.status, 202);
    assert.match(ok.body.webhookSecret, /^whsec_/);
  });
});

describe('subscriptions', () => {
  test('create shows the secret once; list never; tenants see their own; delete', async () => {
    const created = await subscribe(
      { events: ['task.completed', 'batch.completed'], webhook: { url: 'https://93.184.216.34/hook?token=abc' } },
      t.key,
      { 'idempotency-key': 'sub-1' },
    );
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^sub_/);
    assert.match(created.body.secret, /^whsec_/);
    assert.deepEqual(created.body.events, ['task.completed', 'batch.completed']);
    const replay = await subscribe(
      { events: ['task.completed', 'batch.completed'], webhook: { url: 'https://93.184.216.34/hook?token=abc' } },
      t.key,
      { 'idempotency-key': 'sub-1' },
    );
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.id, created.body.id);
    assert.equal(replay.body.secret, undefined, 'a replay does not show the secret again');
    const email = await subscribe({ email: ['ops@example.com'] });
    assert.equal(email.status, 201);
    assert.equal(email.body.channel, 'email');

    const list = await h.request('GET', '/v1/subscriptions', { key: t.key });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.data.map((s: { id: string }) => s.id),
      [email.body.id, created.body.id],
    );
    assert.ok(!JSON.stringify(list.body).includes('whsec_'), 'no secret in list reads');
    assert.deepEqual((await h.request('GET', '/v1/subscriptions', { key: other.key })).body.data, []);
    const admin = await h.request('GET', '/v1/subscriptions', { key: h.adminKey });
    assert.ok(!JSON.stringify(admin.body).includes('whsec_'));

    assert.equal((await h.request('DELETE', `/v1/subscriptions/${created.body.id}`, { key: other.key })).status, 404);
    assert.equal((await h.request('DELETE', `/v1/subscriptions/${created.body.id}`, { key: t.key })).status, 204);
    assert.equal((await h.request('DELETE', `/v1/subscriptions/${created.body.id}`, { key: t.key })).status, 404);
    assert.equal((await h.request('DELETE', '/v1/subscriptions/nope', { key: t.key })).status, 404);
    const after = await h.request('GET', '/v1/subscriptions', { key: t.key });
    assert.deepEqual(
      after.body.data.map((s: { id: string }) => s.id),
      [email.body.id],
    );
  });

  test('viewers read but do not write', async () => {
    const viewer = await h.tenant('viewer');
    assert.equal((await subscribe({ email: ['ops@example.com'] }, viewer.key)).status, 403);
    assert.equal((await h.request('GET', '/v1/subscriptions', { key: viewer.key })).status, 200);
    assert.equal((await h.request('GET', '/v1/notifications', { key: viewer.key })).status, 200);
  });

  test('GET /v1/notifications checks its query', async () => {
    const r = await h.request('GET', '/v1/notifications?limit=0', { key: t.key });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.details[0].field, 'limit');
    assert.equal((await h.request('GET', '/v1/notifications?subject=tsk_x', { key: t.key })).body.data.length, 0);
  });
});

describe('contract', () => {
  test('openapi.json describes the notification endpoints', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    const ops = Object.entries(doc.paths).flatMap(([path, methods]: [string, any]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'POST /v1/subscriptions',
      'GET /v1/subscriptions',
      'DELETE /v1/subscriptions/{id}',
      'GET /v1/notifications',
      'POST /v1/dead-letters/{id}/replay',
    ]) {
      assert.ok(ops.includes(op), op);
    }
    const delivery = doc.components.schemas.DeliveryDto.properties;
    for (const field of ['attempts', 'lastStatusCode', 'nextRetryAt', 'eventId', 'status'])
      assert.ok(delivery[field], field);
  });
});
