import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BatonError } from '@baton/core';
import { canActInConsole, canUseConsole, type Session } from '@baton/identity';
import { loadOrCreateSecret, type Runtime } from '@baton/runtime';
import { ApiKeys } from '../common/api-keys.service';
import { sendError } from '../common/error.filter';
import { boardRoles, bullBoardPlugin } from './bull-board';
import { html, redirect, type ConsoleDeps } from './console.http';
import { refusedPage } from './console.pages';
import { registerOpsPage } from './ops.page';
import { OidcClient } from './oidc.client';
import { SessionCookies } from './session.cookies';
import { ADMIN_KEY_ID, adminKeySubject, registerSignIn } from './sign-in.routes';

export const BOARD_PATH = '/admin/queues';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Session;
  }
}

/**
 * The operator console under /admin, for people: sign-in (single sign-on, or an admin API key), the operator views
 * page and Bull Board. One encapsulated Fastify scope, so its cookies, form parsing and security headers stay off
 * the JSON API.
 */
export async function registerConsole(app: NestFastifyApplication, runtime: Runtime): Promise<void> {
  const { config, log } = runtime;
  const secret =
    config.SESSION_SECRET ||
    loadOrCreateSecret(
      config.DATA_DIR,
      'session-secret',
      () => randomBytes(32).toString('base64url'),
      log,
      'SESSION_SECRET',
    );
  const https = config.PUBLIC_URL.startsWith('https:');
  const deps: ConsoleDeps = {
    runtime,
    keys: app.get(ApiKeys),
    cookies: new SessionCookies(config.SESSION_TTL_MINUTES * 60, https),
    oidc: config.OIDC_ISSUER_URL ? new OidcClient(config) : undefined,
    origin: config.PUBLIC_URL ? new URL(config.PUBLIC_URL).origin : undefined,
  };
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(fastifyCookie, { secret, hook: 'onRequest' });
    await scope.register(helmet, {
      contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': https ? [] : null } },
      hsts: https,
    });
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.setErrorHandler((error, req, reply) => sendError(req, reply, error, log));
    // Errors are answered here: under /admin/queues, Bull Board's own error handler would turn them into 500s.
    scope.addHook('onRequest', async (req, reply) => {
      try {
        await gate(req, reply, deps);
        if (reply.sent) return reply;
      } catch (error) {
        sendError(req, reply, error, log);
        return reply;
      }
    });
    registerSignIn(scope, deps);
    registerOpsPage(scope, deps);
    await scope.register(bullBoardPlugin(runtime.producer, BOARD_PATH), { prefix: BOARD_PATH });
  });
}

/** Open to everyone: the sign-in routes, by their route pattern (what matched, not the raw URL, decides). */
const SIGN_IN_ROUTES = new Set([
  '/admin/login',
  '/admin/login/sso',
  '/admin/login/callback',
  '/admin/login/key',
  '/admin/logout',
]);

/**
 * Who may pass: sign-in pages are open; everything else under /admin needs a live session of a console role, and
 * writes need an admin and must come from the console's own pages.
 */
async function gate(req: FastifyRequest, reply: FastifyReply, deps: ConsoleDeps): Promise<void> {
  // Every route of this scope is under /admin; the matched pattern, not the raw URL, decides who may pass.
  const path = req.routeOptions.url ?? req.url;
  void reply.header('cache-control', 'no-store');
  if (!SAFE_METHODS.has(req.method)) checkSameOrigin(req, deps.origin);
  if (SIGN_IN_ROUTES.has(path)) return;
  const session = deps.cookies.read(req);
  const page = wantsPage(req, path);
  if (!session) {
    if (page) return redirect(reply, `/admin/login?next=${encodeURIComponent(req.url)}`);
    throw new BatonError('unauthenticated', 'sign in to the operator console first');
  }
  if (session.via === 'api_key' && !(await keyStillValid(session, deps))) {
    deps.cookies.clear(reply);
    if (page) return redirect(reply, `/admin/login?next=${encodeURIComponent(req.url)}`);
    throw new BatonError('unauthenticated', 'the API key this session signed in with is no longer valid');
  }
  if (!canUseConsole(session.role)) {
    const message = `${session.name} is signed in as ${session.role}; the console is for admins and viewers`;
    if (page) return html(reply.status(403), refusedPage(message));
    throw new BatonError('forbidden', message);
  }
  if (!SAFE_METHODS.has(req.method) && !canActInConsole(session.role)) {
    throw new BatonError('forbidden', 'viewers see the console read-only');
  }
  req.consoleSession = session;
  boardRoles.set(req.headers, session.role);
}

/**
 * A session signed in with an API key lasts only as long as the key: a revoked key (or a changed ADMIN_API_KEY)
 * ends it at the next request. Console traffic is people, so one indexed lookup per request is cheap.
 */
async function keyStillValid(session: Session, deps: ConsoleDeps): Promise<boolean> {
  const keyId = session.sub.slice('key:'.length);
  if (keyId.startsWith(`${ADMIN_KEY_ID}.`)) return keyId === adminKeySubject(deps.runtime.adminApiKey);
  return deps.runtime.stores.access.keyActive(keyId, session.role);
}

/** Pages get a redirect to sign-in; Bull Board's API, assets and any non-browser caller get a 401 envelope. */
const wantsPage = (req: FastifyRequest, path: string): boolean =>
  req.method === 'GET' &&
  !path.startsWith(`${BOARD_PATH}/api/`) &&
  !path.startsWith(`${BOARD_PATH}/static/`) &&
  (req.headers.accept ?? '').includes('text/html');

/**
 * Cookies are SameSite=Lax, so a cross-site form cannot carry a session; this is the second line: a browser's
 * write must say it comes from this site (Sec-Fetch-Site, else Origin). Callers without either are not browsers.
 */
function checkSameOrigin(req: FastifyRequest, origin: string | undefined): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site === 'same-origin') return;
    throw new BatonError('forbidden', 'cross-site requests may not change anything here');
  }
  const from = req.headers.origin;
  if (from === undefined) return;
  const own = origin ?? `${req.protocol}://${req.host}`;
  if (from !== own) throw new BatonError('forbidden', 'cross-site requests may not change anything here');
}
