import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeSession, encodeSession, type Session } from '@baton/identity';
import type { SignInFlow } from './oidc.client';

export const SESSION_COOKIE = 'baton_session';
export const FLOW_COOKIE = 'baton_signin';
/** A sign-in at the provider has this long to come back. */
const FLOW_TTL_S = 600;

/**
 * The console's cookies: signed with SESSION_SECRET (HMAC-SHA256, @fastify/cookie), HTTP-only, SameSite=Lax (sent on
 * the provider's redirect back, never on a cross-site POST), Secure when PUBLIC_URL is https, and scoped to /admin so
 * the JSON API never sees them. The session's expiry is inside the signed value, so an old cookie kept past its
 * Max-Age is still refused.
 */
export class SessionCookies {
  constructor(
    private readonly ttlSeconds: number,
    private readonly secure: boolean,
  ) {}

  read(req: FastifyRequest): Session | null {
    const value = this.unsigned(req, SESSION_COOKIE);
    return value === null ? null : decodeSession(value);
  }

  write(reply: FastifyReply, session: Session): void {
    void reply.setCookie(SESSION_COOKIE, encodeSession(session), this.options('/admin', session.exp - session.iat));
  }

  clear(reply: FastifyReply): void {
    void reply.clearCookie(SESSION_COOKIE, this.options('/admin', 0));
  }

  readFlow(req: FastifyRequest): SignInFlow | null {
    const value = this.unsigned(req, FLOW_COOKIE);
    if (value === null) return null;
    try {
      const flow = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<SignInFlow>;
      const fields = [flow.verifier, flow.state, flow.nonce, flow.next];
      return fields.every((f) => typeof f === 'string') ? (flow as SignInFlow) : null;
    } catch {
      return null;
    }
  }

  writeFlow(reply: FastifyReply, flow: SignInFlow): void {
    const value = Buffer.from(JSON.stringify(flow), 'utf8').toString('base64url');
    void reply.setCookie(FLOW_COOKIE, value, this.options('/admin/login', FLOW_TTL_S));
  }

  clearFlow(reply: FastifyReply): void {
    void reply.clearCookie(FLOW_COOKIE, this.options('/admin/login', 0));
  }

  get sessionTtlSeconds(): number {
    return this.ttlSeconds;
  }

  private unsigned(req: FastifyRequest, name: string): string | null {
    const raw = req.cookies[name];
    if (!raw) return null;
    const result = req.unsignCookie(raw);
    return result.valid && result.value !== null ? result.value : null;
  }

  private options(path: string, maxAgeSeconds: number): CookieSerializeOptions {
    return { path, httpOnly: true, sameSite: 'lax', secure: this.secure, signed: true, maxAge: maxAgeSeconds };
  }
}
