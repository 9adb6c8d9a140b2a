import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canUseConsole, newSession, safeReturnPath } from '@baton/identity';
import { html, redirect, type ConsoleDeps } from './console.http';
import { loginPage, refusedPage, signOutPage } from './console.pages';

type Query = Record<string, string | undefined>;

/** The key id the ADMIN_API_KEY resolves to (it has no row in api_keys). */
export const ADMIN_KEY_ID = 'key_admin';

/** A session from ADMIN_API_KEY names a digest of it, so a new ADMIN_API_KEY ends the sessions of the old one. */
export const adminKeySubject = (adminKey: string): string =>
  `${ADMIN_KEY_ID}.${createHash('sha256').update(adminKey).digest('hex').slice(0, 16)}`;

/** Sign-in and sign-out for people: /admin/login (page), .../sso and .../callback (OIDC), .../key, /admin/logout. */
export function registerSignIn(scope: FastifyInstance, deps: ConsoleDeps): void {
  const { cookies, oidc, runtime } = deps;
  const keySignIn = runtime.config.CONSOLE_KEY_SIGNIN;
  const page = (reply: FastifyReply, status: number, next: string, error?: string) =>
    html(reply.status(status), loginPage({ sso: oidc !== undefined, keySignIn, next, error }));

  scope.get('/admin/login', (req: FastifyRequest<{ Querystring: Query }>, reply) =>
    page(reply, 200, safeReturnPath(req.query.next)),
  );

  scope.get('/admin/login/sso', async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const next = safeReturnPath(req.query.next);
    if (!oidc) return page(reply, 404, next, 'Single sign-on is not configured here.');
    let started;
    try {
      started = await oidc.start(next);
    } catch (error) {
      runtime.log.warn({ requestId: req.id, reason: (error as Error).message }, 'single sign-on unavailable');
      const alternative = keySignIn ? ' Try again shortly, or sign in with an admin API key.' : ' Try again shortly.';
      return page(reply, 503, next, `The sign-in provider cannot be reached.${alternative}`);
    }
    cookies.writeFlow(reply, started.flow);
    return redirect(reply, started.url);
  });

  scope.get('/admin/login/callback', async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    if (!oidc) return page(reply, 404, '/admin', 'Single sign-on is not configured here.');
    const flow = cookies.readFlow(req);
    cookies.clearFlow(reply);
    if (!flow) return page(reply, 400, '/admin', 'That sign-in expired or was started elsewhere; please start again.');
    if (req.query.error) {
      return page(
        reply,
        401,
        flow.next,
        `The sign-in provider said no: ${req.query.error_description ?? req.query.error}`,
      );
    }
    let person;
    try {
      person = await oidc.finish(new URL(req.url, oidc.redirectUri), flow);
    } catch (error) {
      // The provider's answer, not its tokens: nothing secret goes to the log.
      runtime.log.warn({ requestId: req.id, reason: (error as Error).message }, 'single sign-on failed');
      return page(reply, 401, flow.next, 'Single sign-on failed; please try again.');
    }
    if (!person.role || !canUseConsole(person.role)) {
      const why = person.role
        ? `your role is ${person.role}`
        : `no role was granted (claim ${runtime.config.OIDC_ROLE_CLAIM})`;
      runtime.log.warn({ requestId: req.id, sub: person.sub, role: person.role }, 'console sign-in refused');
      return html(reply.status(403), refusedPage(`${person.name} may not use the operator console: ${why}.`));
    }
    cookies.write(reply, newSession({ ...person, role: person.role, via: 'oidc' }, cookies.sessionTtlSeconds));
    runtime.log.info({ requestId: req.id, sub: person.sub, role: person.role }, 'console sign-in');
    return redirect(reply, flow.next);
  });

  scope.post('/admin/login/key', async (req: FastifyRequest<{ Body: Query | undefined }>, reply) => {
    const next = safeReturnPath(req.body?.next);
    if (!keySignIn) return page(reply, 404, next, 'API-key sign-in is turned off here.');
    const secret = req.body?.apiKey?.trim() ?? '';
    const principal = secret ? await deps.keys.resolve(`Bearer ${secret}`).catch(() => null) : null;
    if (!principal) return page(reply, 401, next, 'Unknown or revoked API key.');
    if (principal.role !== 'admin') return page(reply, 403, next, 'Only admin API keys may sign in to the console.');
    const keyId = principal.keyId === ADMIN_KEY_ID ? adminKeySubject(runtime.adminApiKey) : principal.keyId;
    const who = { sub: `key:${keyId}`, name: `API key ${principal.keyId}`, role: principal.role };
    cookies.write(reply, newSession({ ...who, via: 'api_key' }, cookies.sessionTtlSeconds));
    runtime.log.info({ requestId: req.id, keyId: principal.keyId }, 'console sign-in with an API key');
    return redirect(reply, next);
  });

  // Bull Board's menu can only link (GET): this page asks, and the form signs out (POST, from this site).
  scope.get('/admin/logout', (_req, reply) => html(reply, signOutPage()));

  scope.post('/admin/logout', (_req, reply) => {
    cookies.clear(reply);
    return redirect(reply, '/admin/login');
  });
}
