import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { isPrivateAddress, withTimeout, type ErrorDetail } from '@baton/core';
import { generateWebhookSecret, isWebhookSecret } from './webhook';

/** `notify` on a batch, task, inference job or schedule: `{ webhook?: {url, secret?}, email?: [addr, ...] }`. */
export interface NotifySpec {
  webhook?: { url: string; secret?: string };
  email?: string[];
}

/** Where one event goes: a webhook URL or one mailbox. */
export interface DeliveryTarget {
  channel: 'webhook' | 'email';
  target: string;
  /** Set when a tenant subscription asked for it; unset for an object's own `notify`. */
  subscriptionId: string | null;
}

/** A tenant-level default subscription, as the dispatcher matches it. */
export interface SubscriptionRule {
  id: string;
  /** Empty: every event type. */
  events: string[];
  channel: string;
  url: string | null;
  emails: string[];
}

export const MAX_EMAILS = 20;
const URL_MAX = 2048;
// Deliberately plain: one @, no spaces, a dotted domain. SMTP servers decide the rest.
const EMAIL = /^[^\s@<>()[\],;:"]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

export const isEmailAddress = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 254 && EMAIL.test(value);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a stored `notify` JSON; anything malformed is ignored (it was validated when the object was created). */
export function parseNotify(json: unknown): NotifySpec {
  if (!isObject(json)) return {};
  const spec: NotifySpec = {};
  const hook = json.webhook;
  if (isObject(hook) && typeof hook.url === 'string') {
    spec.webhook = { url: hook.url, ...(typeof hook.secret === 'string' ? { secret: hook.secret } : {}) };
  }
  if (Array.isArray(json.email)) spec.email = json.email.filter(isEmailAddress);
  return spec;
}

/**
 * Everything an event must reach: the object's own `notify` first, then the tenant's subscriptions for this event
 * type. A URL or mailbox named twice gets one delivery (the object's own wins, with its own secret). Hot paths decide
 * whether to write an event at all with the same rule in SQL (`hasAudience`, libs/db): change the two together.
 */
export function resolveTargets(
  eventType: string,
  notify: unknown,
  subscriptions: readonly SubscriptionRule[],
): DeliveryTarget[] {
  const out: DeliveryTarget[] = [];
  const seen = new Set<string>();
  const add = (channel: DeliveryTarget['channel'], target: string, subscriptionId: string | null): void => {
    const key = `${channel}\u0000${channel === 'email' ? target.toLowerCase() : target}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ channel, target, subscriptionId });
  };
  const own = parseNotify(notify);
  if (own.webhook) add('webhook', own.webhook.url, null);
  for (const address of own.email ?? []) add('email', address, null);
  for (const sub of subscriptions) {
    if (sub.events.length > 0 && !sub.events.includes(eventType)) continue;
    if (sub.channel === 'webhook' && sub.url) add('webhook', sub.url, sub.id);
    if (sub.channel === 'email') for (const address of sub.emails) add('email', address, sub.id);
  }
  return out;
}

/** Checks a webhook URL's form: absolute http(s), no credentials, no fragment; a literal private IP is refused. */
export function checkWebhookUrlForm(value: unknown, field: string, allowPrivate: boolean): ErrorDetail[] {
  if (typeof value !== 'string' || value.length === 0 || value.length > URL_MAX) {
    return [{ field, message: `must be an absolute http(s) URL of at most ${URL_MAX} characters` }];
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [{ field, message: 'must be an absolute http(s) URL' }];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [{ field, message: 'must use http or https' }];
  if (url.username || url.password) return [{ field, message: 'must not carry credentials; use the signing secret' }];
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isPrivateAddress(host))))
    return [{ field, message: 'must not point at a private, loopback or link-local address' }];
  return [];
}

/** Resolves a host to its addresses (an adapter: DNS in production, a table in tests). */
export type Resolve = (host: string) => Promise<string[]>;

/** DNS, bounded in time: a resolver that does not answer counts as a name that does not resolve. */
export const dnsResolve =
  (timeoutMs = 3_000): Resolve =>
  async (host) =>
    (await withTimeout(lookup(host, { all: true }), timeoutMs, `resolving ${host}`)).map((a) => a.address);

/** Form first, then DNS: a name that resolves to a private address is refused too (unless allowed). */
export async function checkWebhookUrl(
  value: unknown,
  field: string,
  opts: { allowPrivate: boolean; resolve: Resolve },
): Promise<ErrorDetail[]> {
  const form = checkWebhookUrlForm(value, field, opts.allowPrivate);
  if (form.length > 0 || opts.allowPrivate) return form;
  const host = new URL(value as string).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [];
  let addresses: string[];
  try {
    addresses = await opts.resolve(host);
  } catch {
    return [{ field, message: `host ${host} does not resolve` }];
  }
  return addresses.some(isPrivateAddress)
    ? [{ field, message: 'must not point at a private, loopback or link-local address' }]
    : [];
}

export function checkEmails(value: unknown, field: string): ErrorDetail[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_EMAILS)
    return [{ field, message: `must be a list of 1 to ${MAX_EMAILS} email addresses` }];
  const errors: ErrorDetail[] = [];
  value.forEach((v, i) => {
    if (!isEmailAddress(v)) errors.push({ field: `${field}[${i}]`, message: 'must be an email address' });
  });
  return errors;
}

export function checkSecret(value: unknown, field: string): ErrorDetail[] {
  return value === undefined || isWebhookSecret(value)
    ? []
    : [{ field, message: 'must be a whsec_ secret: "whsec_" then base64 of 24 to 64 random bytes' }];
}

export interface NotifyCheckOptions {
  allowPrivate: boolean;
  resolve: Resolve;
  /** False when SMTP_URL is not set: email targets are refused rather than silently never sent. */
  emailEnabled: boolean;
}

/**
 * Validates a `notify` given with a create request and fills in a signing secret where the webhook has none.
 * Returns the value to store, the generated secret (to show once), or the bad fields.
 */
export async function prepareNotify(
  input: unknown,
  opts: NotifyCheckOptions,
  field = 'notify',
  extraKeys: readonly string[] = [],
): Promise<{ notify: NotifySpec | null; generatedSecret?: string; errors: ErrorDetail[] }> {
  if (input === undefined || input === null) return { notify: null, errors: [] };
  if (!isObject(input)) return { notify: null, errors: [{ field: field || 'body', message: 'must be an object' }] };
  const at = (key: string): string => (field ? `${field}.${key}` : key);
  const errors: ErrorDetail[] = [];
  for (const key of Object.keys(input)) {
    if (key !== 'webhook' && key !== 'email' && !extraKeys.includes(key))
      errors.push({ field: at(key), message: 'is not allowed' });
  }
  const notify: NotifySpec = {};
  let generatedSecret: string | undefined;
  if (input.webhook !== undefined) {
    const hook = input.webhook;
    if (!isObject(hook)) {
      errors.push({ field: at('webhook'), message: 'must be an object like {"url": "https://..."}' });
    } else {
      for (const key of Object.keys(hook)) {
        if (key !== 'url' && key !== 'secret') errors.push({ field: at(`webhook.${key}`), message: 'is not allowed' });
      }
      errors.push(...(await checkWebhookUrl(hook.url, at('webhook.url'), opts)));
      errors.push(...checkSecret(hook.secret, at('webhook.secret')));
      const secret = typeof hook.secret === 'string' ? hook.secret : (generatedSecret = generateWebhookSecret());
      notify.webhook = { url: String(hook.url), secret };
    }
  }
  if (input.email !== undefined) {
    const emailErrors = checkEmails(input.email, at('email'));
    if (emailErrors.length === 0 && !opts.emailEnabled)
      emailErrors.push({ field: at('email'), message: 'email notifications are not configured (SMTP_URL)' });
    errors.push(...emailErrors);
    notify.email = emailErrors.length === 0 ? (input.email as string[]) : [];
  }
  if (errors.length > 0) return { notify: null, errors };
  return { notify, generatedSecret: notify.webhook ? generatedSecret : undefined, errors };
}
