import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, startBaton, type Harness } from './harness';

export interface OidcUser {
  name: string;
  /** The `baton_role` claim; absent: the provider grants no role. */
  role?: string | string[];
}

export interface OidcProviderHandle {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on a free port of this machine, with its development
 * login page (any password) and one confidential client whose redirect URI is Baton's callback. PKCE is required.
 * Logins not in `users` sign in with no role claim.
 */
export async function startOidcProvider(
  redirectUri: string,
  users: Record<string, OidcUser>,
): Promise<OidcProviderHandle> {
  // ESM-only package: loaded with require(esm) (Node >= 20.19), the way the compiled tests load everything.
  const { default: Provider } = await import('oidc-provider');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = 'baton-console';
  const clientSecret = 'baton-console-secret-for-tests-only';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    claims: { openid: ['sub'], profile: ['name', 'baton_role'] },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, name: users[sub]?.name ?? sub, baton_role: users[sub]?.role }),
    }),
    cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Cookies by name, as a browser on one host would keep them (enough for these flows: one host, distinct names). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /expires=thu, 01 jan 1970/i.test(a));
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

/**
 * Goes where a browser would: follows redirects by hand (keeping cookies) until `stop(url)` says this is where the
 * flow lands, submitting the provider's login form (as `login`) and its consent form on the way. Answers the last
 * response and its URL.
 */
export async function signInThroughProvider(
  start: string,
  login: string,
  jar: CookieJar,
  stop: (url: URL) => boolean,
): Promise<{ res: Response; url: URL; body: string }> {
  let url = new URL(start);
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, cookie: jar.header(), accept: 'text/html' },
    });
    jar.take(res);
    const body = await res.text();
    const location = res.headers.get('location');
    if (location && res.status >= 300 && res.status < 400) {
      url = new URL(location, url);
      init = { method: 'GET' };
      if (stop(url)) {
        const last = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(), accept: 'text/html' } });
        jar.take(last);
        return { res: last, url, body: await last.text() };
      }
      continue;
    }
    const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(body)?.[1];
    if (res.status !== 200 || !action) return { res, url, body };
    const form: Record<string, string> = /name="login"/.test(body)
      ? { prompt: 'login', login, password: 'any' }
      : { prompt: 'consent' };
    url = new URL(action.replace(/&amp;/g, '&'), url);
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    };
  }
  throw new Error('sign-in did not land within 20 hops');
}

/** The people the console tests sign in as, by login at the provider. */
export const PEOPLE: Record<string, OidcUser> = {
  alice: { name: 'Alice Admin', role: ['admin'] },
  victor: { name: 'Victor Viewer', role: 'viewer' },
  mallory: { name: 'Mallory Member', role: 'member' },
};

/** Baton with single sign-on through a fresh provider: Baton's port is chosen first, since PUBLIC_URL names it. */
export async function startBatonWithSso(
  opts: { worker?: boolean } = {},
): Promise<{ h: Harness; idp: OidcProviderHandle }> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startOidcProvider(`${publicUrl}/admin/login/callback`, PEOPLE);
  const h = await startBaton(
    {
      PUBLIC_URL: publicUrl,
      OIDC_ISSUER_URL: idp.issuer,
      OIDC_CLIENT_ID: idp.clientId,
      OIDC_CLIENT_SECRET: idp.clientSecret,
      SESSION_SECRET: 'sso-test-session-secret-0123456789abcdef',
    },
    { worker: opts.worker, port },
  );
  return { h, idp };
}
