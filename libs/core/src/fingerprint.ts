import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth, so equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Fingerprint of a request: the operation and its canonical body. */
export const requestFingerprint = (operation: string, body: unknown): string =>
  sha256(`${operation}\n${canonicalJson(body ?? null)}`);
