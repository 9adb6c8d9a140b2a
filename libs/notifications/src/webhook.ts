import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/** A new signing secret in the Standard Webhooks form: `whsec_` and base64 of 32 random bytes. */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** `whsec_` then base64 of 24 to 64 bytes. */
export function isWebhookSecret(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = SECRET.exec(value);
  if (!m) return false;
  const bytes = Buffer.from(m[1], 'base64');
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === m[1];
}

/**
 * The Standard Webhooks headers of one attempt. `webhook-id` is the event id, the same on every attempt and replay, so a
 * receiver drops what it has seen; `webhook-timestamp` is this attempt's time (receivers refuse stale ones), and
 * `webhook-signature` signs "id.timestamp.body" with the secret.
 */
export function webhookHeaders(secret: string, id: string, at: Date, body: string): Record<string, string> {
  const signature = new Webhook(secret).sign(id, at, body);
  return {
    'content-type': 'application/json',
    'user-agent': 'Baton-Webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** A URL as operators and clients may read it: no credentials, no query (tokens hide there), no fragment. */
export function displayTarget(channel: string, target: string): string {
  if (channel !== 'webhook') return target;
  try {
    const url = new URL(target);
    return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
