import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, startBaton, type Harness } from './support/harness';
import { CookieJar, signInThroughProvider, startBatonWithSso, type OidcProviderHandle } from './support/oidc';

let h: Harness;
let idp: OidcProviderHandle;

before(async () => {
  ({ h, idp } = await startBatonWithSso({ worker: false }));
});
after(async () => {
  await h.close();
  await idp.close();
});

const atCallback = (u: URL) => u.pathname === '/admin/login/callback';

async function signIn(login: string) {
  const jar = new CookieJar();
  const landed = await signInThroughProvider(`${h.url}/admin/login/sso?next=%2Fadmin%2Fqueues`, login, jar, atCallback);
  return { jar, ...landed };
}

const boardQueues = (jar: CookieJar) =>
  fetch(`${h.url}/admin/queues/api/queues`, { headers: { cookie: jar.header() } }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));

describe('single sign-on through a real OpenID Connect provider', () => {
  test('the sign-in page offers it', async () => {
    const page = await (await fetch(`${h.url}/admin/login`)).text();
    assert.match(page, /Sign in with single sign-on/);
  });

  test('the provider is sent a PKCE challenge, state and nonce, and no secret', async () => {
    const res = await fetch(`${h.url}/admin/login/sso?next=/admin`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const to = new URL(res.headers.get('location')!);
    assert.equal(to.origin, idp.issuer);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.match(to.searchParams.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.ok(to.searchParams.get('state') && to.searchParams.get('nonce'));
    assert.equal(to.searchParams.get('redirect_uri'), `${h.url}/admin/login/callback`);
    assert.equal(to.searchParams.get('client_secret'), null);
    const flow = res.headers.getSetCookie().find((c) => c.startsWith('baton_signin='));
    assert.ok(flow && /httponly/i.test(flow) && /samesite=lax/i.test(flow) && /path=\/admin\/login/i.test(flow), flow);
  });

  test('an admin by claim signs in and gets the full board', async () => {
    const { res, jar } = await signIn('alice');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/admin/queues');
    assert.ok(jar.get('baton_session'));
    assert.equal(jar.get('baton_signin'), undefined, 'the flow cookie is spent');
    const board = await boardQueues(jar);
    assert.equal(board.status, 200);
    assert.ok(board.body.queues.every((q: any) => q.readOnlyMode === false));
    const page = await (await fetch(`${h.url}/admin`, { headers: { cookie: jar.header() } })).text();
    assert.match(page, /Alice Admin · admin/);
  });

  test('a viewer by claim gets the board read-only', async () => {
    const { res, jar } = await signIn('victor');
    assert.equal(res.status, 303);
    const board = await boardQueues(jar);
    assert.equal(board.status, 200);
    assert.ok(board.body.queues.every((q: any) => q.readOnlyMode === true));
    const pause = await fetch(`${h.url}/admin/queues/api/queues/tasks/pause`, {
      method: 'PUT',
      headers: { cookie: jar.header() },
    });
    assert.equal(pause.status, 403);
  });

  test('a member, or someone with no role claim, is refused and gets no session', async () => {
    for (const [login, why] of [
      ['mallory', /your role is member/],
      ['nobody', /no role was granted \(claim baton_role\)/],
    ] as const) {
      const { res, body, jar } = await signIn(login);
      assert.equal(res.status, 403, login);
      assert.match(body, why);
      assert.equal(jar.get('baton_session'), undefined, login);
    }
  });

  test('a callback without its flow, or with a state that does not match, signs no one in', async () => {
    const bare = await fetch(`${h.url}/admin/login/callback?code=abc&state=xyz`, { redirect: 'manual' });
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /expired or was started elsewhere/);
    const jar = new CookieJar();
    const start = await fetch(`${h.url}/admin/login/sso`, { redirect: 'manual' });
    jar.take(start);
    const forged = await fetch(`${h.url}/admin/login/callback?code=abc&state=not-the-state`, {
      redirect: 'manual',
      headers: { cookie: jar.header() },
    });
    assert.equal(forged.status, 401);
    assert.match(await forged.text(), /Single sign-on failed/);
    assert.equal(
      forged.headers.getSetCookie().some((c) => c.startsWith('baton_session=')),
      false,
    );
    const denied = await fetch(
      `${h.url}/admin/login/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E`,
      {
        redirect: 'manual',
        headers: { cookie: jar.header() },
      },
    );
    assert.equal(denied.status, 401);
    assert.match(await denied.text(), /said no: &lt;b&gt;no&lt;\/b&gt;/, 'escaped');
  });
});

describe('single sign-on with the provider away', () => {
  test('the sign-in page says so, with the API-key fallback, and Baton runs on', async () => {
    const port = await freePort();
    const away = await startBaton(
      {
        PUBLIC_URL: 'http://127.0.0.1:1',
        OIDC_ISSUER_URL: `http://127.0.0.1:${port}`,
        OIDC_CLIENT_ID: 'baton',
        SESSION_SECRET: 'sso-away-session-secret-0123456789abcdef',
      },
      { worker: false },
    );
    try {
      const r = await fetch(`${away.url}/admin/login/sso?next=/admin`, { redirect: 'manual' });
      assert.equal(r.status, 503);
      assert.match(await r.text(), /cannot be reached\. Try again shortly, or sign in with an admin API key/);
      assert.equal((await away.request('GET', '/healthz')).status, 200);
    } finally {
      await away.close();
    }
  });
});
