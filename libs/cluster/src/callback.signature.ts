import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a cluster signs completion callbacks with (API.md). */
export const CLUSTER_SIGNATURE_HEADER = 'x-cluster-signature';

/** Hex HMAC-SHA256 of the raw body: what the cluster sends in X-Cluster-Signature. */
export function signClusterCallback(body: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * True when `signature` is the body's HMAC under `secret`. Checks the raw bytes as received (re-serialised JSON
 * would not match), in constant time so the comparison leaks nothing about the expected value.
 */
export function verifyClusterCallback(body: string | Buffer, signature: string | undefined, secret: string): boolean {
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature.trim())) return false;
  const expected = Buffer.from(signClusterCallback(body, secret), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature.trim(), 'hex'));
}
