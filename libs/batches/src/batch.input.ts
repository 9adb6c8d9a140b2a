import { validationFailed, type ErrorDetail } from '@baton/core';
import { prepareItems, type BatchItem } from './batch.items';
import { resolvePolicy, type BatchPolicy } from './batch.policy';
import type { NotifyInput } from './batch.types';

/** A POST /v1/batches body, checked: every field known, in range, with the policy's defaults filled in. */
export interface BatchRequest {
  items: BatchItem[];
  dropped: number;
  name: string | null;
  priority: number;
  policy: BatchPolicy;
  dedupe: boolean;
  notify: NotifyInput | null;
}

const TOP_FIELDS = ['items', 'name', 'priority', 'policy', 'dedupe', 'notify'];
const POLICY_FIELDS: Record<string, string[] | null> = {
  maxAttempts: null,
  backoff: ['baseMs', 'maxMs', 'jitter'],
  jobTimeoutMs: null,
  stuckAfterMs: ['submitted', 'running'],
  failFast: null,
};
const NOTIFY_FIELDS = ['webhook', 'email'];
const MAX_NAME = 200;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of `value` that are not in `known`, named under `prefix`. */
function unknownFields(value: Record<string, unknown>, known: string[], prefix: string): ErrorDetail[] {
  return Object.keys(value)
    .filter((k) => !known.includes(k))
    .map((k) => ({ field: `${prefix}${k}`, message: 'is not a known field' }));
}

function checkPolicyShape(policy: unknown, errors: ErrorDetail[]): void {
  if (policy === undefined) return;
  if (!isObject(policy)) {
    errors.push({ field: 'policy', message: 'must be an object' });
    return;
  }
  errors.push(...unknownFields(policy, Object.keys(POLICY_FIELDS), 'policy.'));
  for (const [field, nested] of Object.entries(POLICY_FIELDS)) {
    const value = policy[field];
    if (!nested || value === undefined || value === null) continue;
    if (!isObject(value)) errors.push({ field: `policy.${field}`, message: 'must be an object' });
    else errors.push(...unknownFields(value, nested, `policy.${field}.`));
  }
}

function checkNotify(notify: unknown, errors: ErrorDetail[]): void {
  if (notify === undefined || notify === null) return;
  if (!isObject(notify)) {
    errors.push({ field: 'notify', message: 'must be an object' });
    return;
  }
  errors.push(...unknownFields(notify, NOTIFY_FIELDS, 'notify.'));
  const { webhook, email } = notify;
  if (webhook !== undefined) {
    if (!isObject(webhook) || typeof webhook.url !== 'string') {
      errors.push({ field: 'notify.webhook.url', message: 'must be a URL' });
    } else {
      errors.push(...unknownFields(webhook, ['url', 'secret'], 'notify.webhook.'));
      let protocol = '';
      try {
        protocol = new URL(webhook.url).protocol;
      } catch {
        // named below
      }
      if (protocol !== 'http:' && protocol !== 'https:') {
        errors.push({ field: 'notify.webhook.url', message: 'must be an http(s) URL' });
      }
      if (webhook.secret !== undefined && typeof webhook.secret !== 'string') {
        errors.push({ field: 'notify.webhook.secret', message: 'must be a string' });
      }
    }
  }
  if (email !== undefined) {
    const ok = Array.isArray(email) && email.length > 0 && email.length <= 20;
    if (!ok || !(email as unknown[]).every((e) => typeof e === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e))) {
      errors.push({ field: 'notify.email', message: 'must be a list of 1 to 20 email addresses' });
    }
  }
}

/**
 * Checks a batch request as API.md defines it. Throws validation_failed naming every bad field; nothing is stored
 * before this passes, so a refused request leaves no rows behind.
 */
export function parseBatchRequest(body: unknown): BatchRequest {
  if (!isObject(body)) throw validationFailed([{ field: 'body', message: 'must be a JSON object' }]);
  const errors: ErrorDetail[] = unknownFields(body, TOP_FIELDS, '');
  const { name, priority, dedupe } = body;
  if (name !== undefined && name !== null && (typeof name !== 'string' || name.length > MAX_NAME)) {
    errors.push({ field: 'name', message: `must be a string of at most ${MAX_NAME} characters` });
  }
  if (
    priority !== undefined &&
    (!Number.isInteger(priority) || (priority as number) < 1 || (priority as number) > 10)
  ) {
    errors.push({ field: 'priority', message: 'must be an integer from 1 (high) to 10 (low)' });
  }
  if (dedupe !== undefined && typeof dedupe !== 'boolean') {
    errors.push({ field: 'dedupe', message: 'must be true or false' });
  }
  checkPolicyShape(body.policy, errors);
  checkNotify(body.notify, errors);
  if (errors.length > 0) throw validationFailed(errors);
  const policy = resolvePolicy(body.policy as never);
  const { items, dropped } = prepareItems(body.items, dedupe === true);
  return {
    items,
    dropped,
    name: (name as string | undefined) ?? null,
    priority: (priority as number | undefined) ?? 5,
    policy,
    dedupe: dedupe === true,
    notify: (body.notify as NotifyInput | undefined) ?? null,
  };
}
