import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  checkWebhookUrl,
  displayTarget,
  eventBody,
  generateWebhookSecret,
  isWebhookSecret,
  nextStep,
  prepareNotify,
  renderEmail,
  resolveTargets,
  sendWebhook,
  webhookHeaders,
  type DeliveryPolicy,
  type OutboxEvent,
  type SubscriptionRule,
} from '.';

const dnsTable =
  (table: Record<string, string[]>) =>
  (host: string): Promise<string[]> =>
    table[host] ? Promise.resolve(table[host]) : Promise.reject(new Error('ENOTFOUND'));
const checks = {
  allowPrivate: false,
  emailEnabled: true,
  resolve: dnsTable({ 'hooks.example.com': ['93.184.216.34'], 'internal.example.com': ['10.0.0.5'] }),
};

describe('targets', () => {
  const subs: SubscriptionRule[] = [
    { id: 'sub_a', events: [], channel: 'webhook', url: 'https://a.example.com/h', emails: [] },
    { id: 'sub_b', events: ['batch.completed'], channel: 'webhook', url: 'https://b.example.com/h', emails: [] },
    {
      id: 'sub_c',
      events: ['task.completed'],
      channel: 'email',
      url: null,
      emails: ['ops@example.com', 'x@example.com'],
    },
    { id: 'sub_d', events: [], channel: 'webhook', url: 'https://own.example.com/h', emails: [] },
  ];
  test("an object's notify first, then the subscriptions that want the type, each target once", () => {
    const notify = { webhook: { url: 'https://own.example.com/h', secret: 'whsec_x' }, email: ['OPS@example.com'] };
    assert.deepEqual(resolveTargets('task.completed', notify, subs), [
      { channel: 'webhook', target: 'https://own.example.com/h', subscriptionId: null },
      { channel: 'email', target: 'OPS@example.com', subscriptionId: null },
      { channel: 'webhook', target: 'https://a.example.com/h', subscriptionId: 'sub_a' },
      { channel: 'email', target: 'x@example.com', subscriptionId: 'sub_c' },
    ]);
    assert.deepEqual(
      resolveTargets('batch.completed', null, subs).map((t) => t.subscriptionId),
      ['sub_a', 'sub_b', 'sub_d'],
    );
    assert.deepEqual(resolveTargets('alert.raised', { junk: true }, []), []);
  });
});

describe('notify and subscription input', () => {
  const fields = async (input: unknown, opts = checks) => (await prepareNotify(input, opts)).errors.map((e) => e.field);

  test('webhook URLs: http(s) only, no credentials, no private address unless allowed', async () => {
    const bad = async (url: string, opts = checks) => (await checkWebhookUrl(url, 'u', opts)).length > 0;
    for (const url of [
      'ftp://hooks.example.com/x',
      'not a url',
      'https://user:pw@hooks.example.com/x',
      'http://127.0.0.1:8080/x',
      'http://[::1]/x',
      'http://169.254.169.254/latest',
      'http://localhost:3000/',
      'https://internal.example.com/x',
      'https://nowhere.example.com/x',
    ]) {
      assert.equal(await bad(url), true, url);
    }
    assert.equal(await bad('https://hooks.example.com/x?t=1'), false);
    assert.equal(await bad('http://127.0.0.1:8080/x', { ...checks, allowPrivate: true }), false);
    assert.equal(await bad('ftp://127.0.0.1/x', { ...checks, allowPrivate: true }), true);
  });

  test('a webhook without a secret gets one, shown once; every bad field is named', async () => {
    const ok = await prepareNotify({ webhook: { url: 'https://hooks.example.com/x' }, email: ['a@b.co'] }, checks);
    assert.deepEqual(ok.errors, []);
    assert.ok(isWebhookSecret(ok.generatedSecret));
    assert.equal(ok.notify?.webhook?.secret, ok.generatedSecret);
    const given = generateWebhookSecret();
    const kept = await prepareNotify({ webhook: { url: 'https://hooks.example.com/x', secret: given } }, checks);
    assert.equal(kept.generatedSecret, undefined);
    assert.equal(kept.notify?.webhook?.secret, given);
    assert.deepEqual(
      await fields({ webhook: { url: 'http://10.1.1.1/', secret: 'nope' }, email: ['x', 'a@b.co'], sms: 1 }),
      ['notify.sms', 'notify.webhook.url', 'notify.webhook.secret', 'notify.email[0]'],
    );
    assert.deepEqual(await fields({ email: [] }), ['notify.email']);
    assert.deepEqual(await fields({ email: ['a@b.co'] }, { ...checks, emailEnabled: false }), ['notify.email']);
    assert.deepEqual(await fields('x'), ['notify']);
    assert.deepEqual(await fields(undefined), []);
  });

  test('secrets', () => {
    assert.equal(isWebhookSecret(generateWebhookSecret()), true);
    assert.equal(isWebhookSecret(`whsec_${Buffer.alloc(8).toString('base64')}`), false, 'too short');
    assert.equal(isWebhookSecret('whsec_!!!'), false);
    assert.equal(isWebhookSecret('sk_abc'), false);
  });
});

describe('signing', () => {
  test('headers a Standard Webhooks receiver verifies; the id is the event id', () => {
    const secret = generateWebhookSecret();
    const event: OutboxEvent = {
      id: 'ntf_1',
      tenantId: 'ten_1',
      type: 'task.completed',
      subjectType: 'task',
      subjectId: 'tsk_1',
      payload: { id: 'tsk_1', status: 'succeeded' },
      createdAt: new Date('2026-01-01T00:00:00Z'),
    };
    const body = JSON.stringify(eventBody(event));
    const headers = webhookHeaders(secret, event.id, new Date(), body);
    assert.equal(headers['webhook-id'], 'ntf_1');
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(new Webhook(secret).verify(body, headers), {
      type: 'task.completed',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: { id: 'tsk_1', status: 'succeeded' },
    });
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(body, headers));
  });
  test('targets as shown: no credentials, no query', () => {
    assert.equal(displayTarget('webhook', 'https://a:b@h.example.com/p?token=s3cret'), 'https://h.example.com/p?…');
    assert.equal(displayTarget('email', 'a@b.co'), 'a@b.co');
  });
});

describe('retry rules', () => {
  const policy: DeliveryPolicy = {
    maxAttempts: 4,
    backoff: { baseMs: 100, maxMs: 1_000, jitter: 'full' },
    retryAfterMaxMs: 5_000,
  };
  test('2xx ends delivery; failures back off with jitter until the limit, then dead', () => {
    assert.deepEqual(nextStep({ ok: true, statusCode: 204 }, 1, policy), { kind: 'delivered' });
    const delays = Array.from({ length: 500 }, () => nextStep({ ok: false, statusCode: 500 }, 3, policy));
    assert.ok(delays.every((d) => d.kind === 'retry' && d.delayMs >= 0 && d.delayMs < 400));
    assert.ok(new Set(delays.map((d) => (d.kind === 'retry' ? d.delayMs : -1))).size > 50, 'jittered');
    assert.deepEqual(nextStep({ ok: false, error: 'timeout' }, 4, policy), { kind: 'dead' });
    assert.deepEqual(nextStep({ ok: false, permanent: true }, 1, policy), { kind: 'dead' });
  });
  test("429 and 503 honour Retry-After, capped; other statuses don't", () => {
    assert.deepEqual(nextStep({ ok: false, statusCode: 429, retryAfterMs: 3_000 }, 1, policy), {
      kind: 'retry',
      delayMs: 3_000,
    });
    assert.deepEqual(nextStep({ ok: false, statusCode: 503, retryAfterMs: 90_000 }, 1, policy), {
      kind: 'retry',
      delayMs: 5_000,
    });
    const other = nextStep({ ok: false, statusCode: 500, retryAfterMs: 3_000 }, 1, policy, () => 0.5);
    assert.deepEqual(other, { kind: 'retry', delayMs: 50 });
  });
});

describe('email', () => {
  test('a batch summary: outcome, counts, failed items with errors, a link; HTML escaped', () => {
    const mail = renderEmail(
      {
        id: 'ntf_9',
        tenantId: 'ten_1',
        type: 'batch.completed',
        subjectType: 'batch',
        subjectId: 'bat_1',
        createdAt: new Date(),
        payload: {
          id: 'bat_1',
          name: 'nightly <run>',
          status: 'failed',
          outcome: 'partial',
          counts: { total: 3, succeeded: 1, failed: 2, cancelled: 0, queued: 0, running: 0 },
          failedItems: [
            { index: 0, error: { code: 'FAILED', message: 'out of memory' } },
            { index: 2, lastError: { message: 'exit 137' } },
          ],
        },
      },
      { apiBaseUrl: 'https://baton.example.com/' },
    );
    assert.match(mail.subject, /bat_1.*partial.*2 failed/);
    for (const part of ['Outcome: partial', 'total: 3', 'failed: 2', '#0: out of memory', '#2: exit 137']) {
      assert.ok(mail.text.includes(part), part);
    }
    assert.ok(mail.text.includes('https://baton.example.com/v1/batches/bat_1'));
    assert.ok(mail.html.includes('nightly &lt;run&gt;') && !mail.html.includes('<run>'));
    assert.ok(mail.html.includes('href="https://baton.example.com/v1/batches/bat_1/jobs?status=failed"'));
  });
  test('a batch event without its failed items still links to them; a task shows its error', () => {
    const base = { id: 'ntf_8', tenantId: 'ten_1', type: 'batch.completed', createdAt: new Date() };
    const batch = renderEmail(
      {
        ...base,
        subjectType: 'batch',
        subjectId: 'bat_2',
        payload: { outcome: 'all_failed', counts: { total: 1, failed: 1 } },
      },
      { apiBaseUrl: 'http://localhost:3000' },
    );
    assert.ok(batch.text.includes('http://localhost:3000/v1/batches/bat_2/jobs?status=failed'));
    const task = renderEmail(
      {
        ...base,
        type: 'task.completed',
        subjectType: 'task',
        subjectId: 'tsk_1',
        payload: { handler: 'http', status: 'failed', lastError: { code: 'http_500', message: 'answered 500' } },
      },
      { apiBaseUrl: 'http://localhost:3000' },
    );
    assert.match(task.subject, /task tsk_1 \(http\): failed/);
    assert.ok(task.text.includes('Error: answered 500'));
    assert.ok(task.html.includes('answered 500'));
  });
});

describe('webhook sender (a real HTTP server)', () => {
  let server: Server;
  let base: string;
  const seen: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/ok') return res.writeHead(204).end();
      if (req.url === '/busy') return res.writeHead(429, { 'retry-after': '7' }).end('slow down');
      if (req.url === '/moved') return res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/big') return res.writeHead(500).end('x'.repeat(1_000_000));
      if (req.url === '/hang') return; // never answers
      res.writeHead(500).end('boom');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  // Generous for answers that come (a loaded machine is slow); short only where the receiver never answers.
  const opts = { timeoutMs: 5_000, maxResponseBytes: 1024, allowPrivate: true };
  const post = (path: string, o = opts) => sendWebhook(base + path, { 'content-type': 'application/json' }, '{}', o);

  test('2xx, 5xx, 429 with Retry-After, redirects not followed, bodies cut, timeouts', async () => {
    assert.deepEqual(await post('/ok'), {
      ok: true,
      statusCode: 204,
      retryAfterMs: undefined,
      response: '',
      error: undefined,
    });
    const busy = await post('/busy');
    assert.equal(busy.statusCode, 429);
    assert.equal(busy.retryAfterMs, 7_000);
    assert.equal(busy.response, 'slow down');
    const before = seen.filter((p) => p === '/ok').length;
    const moved = await post('/moved');
    assert.equal(moved.ok, false);
    assert.equal(moved.statusCode, 302);
    assert.equal(seen.filter((p) => p === '/ok').length, before, 'the redirect was not followed');
    const big = await post('/big');
    assert.equal(big.statusCode, 500);
    assert.ok(big.response!.length <= 1024);
    const started = Date.now();
    const hang = await post('/hang', { ...opts, timeoutMs: 300 });
    assert.equal(hang.ok, false);
    assert.match(hang.error!, /no answer within 300 ms/);
    assert.ok(Date.now() - started < 2_000);
    const refused = await sendWebhook('http://127.0.0.1:1/', {}, '{}', opts);
    assert.equal(refused.ok, false);
    assert.ok(!refused.permanent);
  });

  test('private addresses are refused at send time, literal or resolved', async () => {
    const strict = { ...opts, allowPrivate: false };
    const literal = await post('/ok', strict);
    assert.equal(literal.permanent, true);
    const port = (server.address() as AddressInfo).port;
    const resolved = await sendWebhook(`http://localhost:${port}/ok`, {}, '{}', strict);
    assert.equal(resolved.permanent, true);
    assert.match(resolved.error!, /private address/);
  });
});
