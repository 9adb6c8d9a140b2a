import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sign } from '@fastify/cookie';
import { ALL_QUEUES } from '@baton/contracts';
import { encodeSession, newSession, type Session } from '@baton/identity';
import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';

const SECRET = 'console-test-secret-0123456789-abcdefghij';
let h: Harness;

before(async () => {
  h = await startBaton({ SESSION_SECRET: SECRET, SESSION_TTL_MINUTES: '30' }, { worker: false });
});
after(() => h.close());

/** A request with no redirect following, so 303s and Set-Cookie can be read. */
async function call(
  method: string,
  path: string,
  o: { cookie?: string; form?: Record<string, string>; headers?: Record<string, string>; json?: unknown } = {},
) {
  const headers: Record<string, string> = { ...o.headers };
  if (o.cookie) headers.cookie = o.cookie;
  let body: string | undefined;
  if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  }
  const res = await fetch(h.url + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json, cookies: res.headers.getSetCookie() };
}

/** A session cookie as the console would sign it (the test knows SESSION_SECRET). */
const forge = (s: Session, secret = SECRET) => `baton_session=${encodeURIComponent(sign(encodeSession(s), secret))}`;
const as = (role: Session['role'], ttl = 600, now = Date.now()) =>
  forge(newSession({ sub: `u-${role}`, name: `${role} person`, role, via: 'oidc' }, ttl, now));

async function signInWithKey(key: string) {
  return call('POST', '/admin/login/key', { form: { apiKey: key, next: '/admin/queues' } });
}

describe('console sign-in with an admin API key', () => {
  test('signed out: pages redirect to sign-in, the board API answers 401', async () => {
    const page = await call('GET', '/admin/queues/queue/tasks?status=failed', { headers: { accept: 'text/html' } });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/admin/login?next=%2Fadmin%2Fqueues%2Fqueue%2Ftasks%3Fstatus%3Dfailed');
    for (const path of ['/admin/queues/api/queues', '/admin/queues', '/admin', '/admin/queues/static/js/x.js']) {
      const r = await call('GET', path);
      assert.equal(r.status, 401, path);
      assert.equal(r.json.error.code, 'unauthenticated');
      assert.equal(typeof r.json.error.requestId, 'string');
    }
    const put = await call('PUT', '/admin/queues/api/queues/tasks/pause');
    assert.equal(put.status, 401);
    const login = await call('GET', '/admin/login?next=/admin/queues', { headers: { accept: 'text/html' } });
    assert.equal(login.status, 200);
    assert.match(login.text, /admin API key/);
    assert.doesNotMatch(login.text, /single sign-on/i, 'no SSO button without OIDC_ISSUER_URL');
  });

  test('an admin key signs in: a signed, HTTP-only, SameSite=Lax cookie for /admin that expires', async () => {
    const r = await signInWithKey(h.adminKey);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/admin/queues');
    const cookie = r.cookies.find((c) => c.startsWith('baton_session='));
    assert.ok(cookie, r.cookies.join('\n'));
    const attrs = cookie.split(';').map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), cookie);
    assert.ok(attrs.includes('samesite=lax'), cookie);
    assert.ok(attrs.includes('path=/admin'), cookie);
    assert.ok(attrs.includes(`max-age=${30 * 60}`), cookie);
    assert.ok(!attrs.includes('secure'), 'no Secure flag over plain http (PUBLIC_URL unset)');
    assert.ok(!cookie.includes(h.adminKey), 'the key itself is never in the cookie');
    const value = cookie.split(';')[0];
    const queues = await call('GET', '/admin/queues/api/queues', { cookie: value });
    assert.equal(queues.status, 200);
    const names = queues.json.queues.map((q: { name: string }) => q.name).sort();
    assert.deepEqual(names, [...ALL_QUEUES].sort());
    assert.ok(queues.json.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode === false));
    const page = await call('GET', '/admin/queues', { cookie: value, headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(page.text, /Baton queues/);
  });

  test('wrong, member and revoked keys are refused, and say why', async () => {
    const wrong = await signInWithKey('bk_nope');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /Unknown or revoked API key/);
    assert.equal(wrong.cookies.length, 0);
    const member = await h.tenant('member');
    const m = await signInWithKey(member.key);
    assert.equal(m.status, 403);
    assert.match(m.text, /Only admin API keys/);
    const tenantAdmin = await h.tenant('admin');
    const signedIn = await signInWithKey(tenantAdmin.key);
    assert.equal(signedIn.status, 303);
    const session = signedIn.cookies.find((c) => c.startsWith('baton_session='))!.split(';')[0];
    assert.equal((await call('GET', '/admin/queues/api/queues', { cookie: session })).status, 200);
    assert.equal((await h.request('DELETE', `/v1/api-keys/${tenantAdmin.keyId}`, { key: h.adminKey })).status, 204);
    assert.equal((await signInWithKey(tenantAdmin.key)).status, 401);
    const afterRevoke = await call('GET', '/admin/queues/api/queues', { cookie: session });
    assert.equal(afterRevoke.status, 401, 'revoking the key ends the sessions it opened');
    assert.ok(
      afterRevoke.cookies.some((c) => c.startsWith('baton_session=;')),
      'and clears the cookie',
    );
    const empty = await call('POST', '/admin/login/key', { form: {} });
    assert.equal(empty.status, 401);
  });

  test('sign-in never redirects off the site', async () => {
    for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
      const r = await call('POST', '/admin/login/key', { form: { apiKey: h.adminKey, next } });
      assert.equal(r.headers.get('location'), '/admin', next);
    }
  });
});

describe('console sessions', () => {
  test('a tampered, re-signed, expired or future cookie is no session', async () => {
    const good = as('admin');
    assert.equal((await call('GET', '/admin/queues/api/queues', { cookie: good })).status, 200);
    const tampered = good.replace(/.(?=\.[^.]*$)/, (c) => (c === 'A' ? 'B' : 'A'));
    const forgedElsewhere = forge(
      newSession({ sub: 'x', name: 'x', role: 'admin', via: 'oidc' }, 600),
      'another-secret-0123456789-0123456789-xx',
    );
    const unsigned = `baton_session=${encodeSession(newSession({ sub: 'x', name: 'x', role: 'admin', via: 'oidc' }, 600))}`;
    const expired = as('admin', 600, Date.now() - 601_000);
    const future = as('admin', 600, Date.now() + 3600_000);
    for (const [what, cookie] of Object.entries({ tampered, forgedElsewhere, unsigned, expired, future })) {
      const r = await call('GET', '/admin/queues/api/queues', { cookie });
      assert.equal(r.status, 401, what);
      assert.equal(r.json.error.code, 'unauthenticated', what);
    }
  });

  test('viewers see the board read-only and cannot act; members are refused', async () => {
    const viewer = as('viewer');
    const list = await call('GET', '/admin/queues/api/queues', { cookie: viewer });
    assert.equal(list.status, 200);
    assert.ok(
      list.json.queues.length === ALL_QUEUES.length && list.json.queues.every((q: any) => q.readOnlyMode === true),
    );
    for (const [method, path] of [
      ['PUT', '/admin/queues/api/queues/tasks/pause'],
      ['PUT', '/admin/queues/api/queues/pause'],
      ['PUT', '/admin/queues/api/queues/tasks/x/retry'],
      ['POST', '/admin/queues/api/queues/tasks/add'],
    ]) {
      const r = await call(method, path, { cookie: viewer, json: {} });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.json.error.code, 'forbidden');
    }
    assert.equal(await h.runtime.producer.queue('tasks').isPaused(), false);
    const views = await call('GET', '/admin', { cookie: viewer, headers: { accept: 'text/html' } });
    assert.equal(views.status, 200, 'viewers read the operator views too');
    assert.match(views.text, /viewer person · viewer/);
    const member = as('member');
    assert.equal((await call('GET', '/admin/queues/api/queues', { cookie: member })).status, 403);
    const page = await call('GET', '/admin', { cookie: member, headers: { accept: 'text/html' } });
    assert.equal(page.status, 403);
    assert.match(page.text, /admins and viewers/);
  });

  test('sign-out clears the cookie', async () => {
    const ask = await call('GET', '/admin/logout');
    assert.equal(ask.status, 200, 'a GET only asks');
    assert.equal(ask.cookies.length, 0);
    assert.match(ask.text, /<form method="post" action="\/admin\/logout">/);
    const r = await call('POST', '/admin/logout', { cookie: as('admin') });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/admin/login');
    const cleared = r.cookies.find((c) => c.startsWith('baton_session='));
    assert.ok(cleared && /max-age=0|expires=thu, 01 jan 1970/i.test(cleared), cleared);
  });

  test('writes from another site are refused even with a session', async () => {
    const admin = as('admin');
    const cross = await call('PUT', '/admin/queues/api/queues/tasks/pause', {
      cookie: admin,
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(cross.status, 403);
    const origin = await call('PUT', '/admin/queues/api/queues/tasks/pause', {
      cookie: admin,
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(origin.status, 403);
    const login = await call('POST', '/admin/login/key', {
      form: { apiKey: h.adminKey },
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(login.status, 403, 'no sign-in CSRF either');
    assert.equal(await h.runtime.producer.queue('tasks').isPaused(), false);
  });

  test('console responses carry safe headers', async () => {
    const r = await call('GET', '/admin/login');
    assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('strict-transport-security'), null, 'no HSTS over plain http');
  });

  test('single sign-on routes answer plainly when SSO is off', async () => {
    assert.equal((await call('GET', '/admin/login/sso')).status, 404);
    assert.equal((await call('GET', '/admin/login/callback?code=x&state=y')).status, 404);
  });
});

describe('Bull Board actions for admins', () => {
  test('pause and resume, retry a failed job, promote a delayed one, remove one', async () => {
    const admin = as('admin');
    const q = h.runtime.producer.queue('maintenance');
    const put = (path: string) =>
      call('PUT', `/admin/queues/api/queues/maintenance${path}`, { cookie: admin, json: {} });
    assert.equal((await put('/pause')).status, 200);
    assert.equal(await q.isPaused(), true);
    assert.equal((await put('/resume')).status, 200);
    assert.equal(await q.isPaused(), false);

    // A stand-in consumer (the harness runs no worker here): fails a probe once, then lets it pass.
    const connection = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const runs = new Map<string, number>();
    const worker = new Worker(
      'maintenance',
      async (job) => {
        runs.set(job.name, (runs.get(job.name) ?? 0) + 1);
        if (job.name === 'probe' && runs.get('probe') === 1) throw new Error('probe failed once');
        return Promise.resolve('ok');
      },
      { connection, prefix: h.prefix },
    );
    try {
      const probe = await q.add('probe', {}, { attempts: 1 });
      await waitFor(async () => (await probe.getState()) === 'failed', 10_000, 'the probe to fail');
      const detail = await call('GET', `/admin/queues/api/queues/maintenance/${probe.id}`, { cookie: admin });
      assert.equal(detail.status, 200);
      assert.match(JSON.stringify(detail.json), /probe failed once/);
      assert.equal((await put(`/${probe.id}/retry?queueStatus=failed`)).status, 204);
      await waitFor(async () => (await probe.getState()) === 'completed', 10_000, 'the retried probe to complete');

      const later = await q.add('later', {}, { delay: 3600_000 });
      assert.equal((await put(`/${later.id}/promote`)).status, 204);
      await waitFor(async () => (await later.getState()) === 'completed', 10_000, 'the promoted job to run');
      // Mistakes are 4xx, never 500: promoting a finished job, an unknown job or queue, a broken body.
      assert.equal((await put(`/${later.id}/promote`)).status, 409);
      assert.equal((await put('/no-such-job/promote')).status, 404);
      assert.equal((await call('PUT', '/admin/queues/api/queues/nope/pause', { cookie: admin, json: {} })).status, 404);
      const broken = await fetch(`${h.url}/admin/queues/api/queues/maintenance/${later.id}/clean`, {
        method: 'PUT',
        headers: { cookie: admin, 'content-type': 'application/json' },
        body: '{broken',
      });
      assert.equal(broken.status, 400);

      const doomed = await q.add('doomed', {}, { delay: 3600_000 });
      assert.equal((await put(`/${doomed.id}/clean?queueStatus=delayed`)).status, 204);
      assert.equal(await q.getJob(doomed.id!), undefined);
      assert.equal(runs.get('doomed'), undefined);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });
});
