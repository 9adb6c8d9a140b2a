import type { FastifyReply } from 'fastify';
import type { Runtime } from '@baton/runtime';
import type { ApiKeys } from '../common/api-keys.service';
import type { OidcClient } from './oidc.client';
import type { SessionCookies } from './session.cookies';

export interface ConsoleDeps {
  runtime: Runtime;
  keys: ApiKeys;
  cookies: SessionCookies;
  oidc?: OidcClient;
  /** The console's own origin, for the same-origin check on forms and Bull Board's actions. */
  origin?: string;
}

export function redirect(reply: FastifyReply, to: string): FastifyReply {
  return reply.status(303).header('location', to).send();
}

export function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.header('content-type', 'text/html; charset=utf-8').send(body);
}
