import { ROLES, type Role } from '@baton/core';

/** What a console session cookie carries (signed, so it cannot be edited; it holds no secret). */
export interface Session {
  /** Who: the provider's subject, or `key:<key id>` for the API-key sign-in. */
  sub: string;
  /** For display only. */
  name: string;
  role: Role;
  /** How the person signed in. */
  via: 'oidc' | 'api_key';
  /** Issued and expiry times, epoch seconds. */
  iat: number;
  exp: number;
}

export function newSession(
  who: { sub: string; name: string; role: Role; via: Session['via'] },
  ttlSeconds: number,
  nowMs = Date.now(),
): Session {
  const iat = Math.floor(nowMs / 1000);
  return { ...who, iat, exp: iat + ttlSeconds };
}

/** The cookie value before signing: base64url JSON, compact and cookie-safe. */
export const encodeSession = (s: Session): string => Buffer.from(JSON.stringify(s), 'utf8').toString('base64url');

/**
 * A session from a cookie value whose signature was already checked; null when it is malformed, of an unknown role,
 * or expired (the cookie's own Max-Age is a hint to the browser; this check is the one that counts).
 */
export function decodeSession(value: string, nowMs = Date.now()): Session | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const s = parsed as Partial<Session> | null;
  if (
    !s ||
    typeof s !== 'object' ||
    typeof s.sub !== 'string' ||
    typeof s.name !== 'string' ||
    !ROLES.includes(s.role as Role) ||
    (s.via !== 'oidc' && s.via !== 'api_key') ||
    !Number.isInteger(s.iat) ||
    !Number.isInteger(s.exp)
  ) {
    return null;
  }
  return isLive(s as Session, nowMs) ? (s as Session) : null;
}

/** Live from its issue time (a little clock skew allowed) until its expiry, exclusive. */
export const isLive = (s: Pick<Session, 'iat' | 'exp'>, nowMs = Date.now()): boolean =>
  s.iat <= Math.floor(nowMs / 1000) + 60 && Math.floor(nowMs / 1000) < s.exp;

/**
 * Where to go after sign-in: only a path on this site (no scheme, no host, no `//` or `/\` that browsers read as
 * another host), else the console's home. Stops the sign-in from being an open redirect.
 */
export function safeReturnPath(raw: unknown, fallback = '/admin'): string {
  if (typeof raw !== 'string' || raw.length > 2048) return fallback;
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  if (/[\u0000-\u001f\\]/.test(raw)) return fallback;
  return raw;
}
