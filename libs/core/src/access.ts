import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256 } from './fingerprint';

export const ROLES = ['admin', 'member', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the API key on every request. */
export interface Principal {
  keyId: string;
  tenantId: string;
  role: Role;
}

/** The tenant the ADMIN_API_KEY acts as when it creates objects itself. */
export const SYSTEM_TENANT_ID = 'ten_00000000000000000000000000';

/** An API key secret: a recognisable prefix and 256 random bits. */
export const generateApiKeySecret = (): string => `bk_${randomBytes(32).toString('base64url')}`;

/** Keys are stored as SHA-256 digests: they are random, so a slow hash adds nothing but latency. */
export const hashApiKey = (secret: string): string => sha256(secret);

export const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export type Access = 'read' | 'write' | 'admin';

/** viewer reads its tenant; member reads and writes its tenant; admin does everything, across tenants. */
export function allows(role: Role, access: Access): boolean {
  if (role === 'admin') return true;
  if (access === 'admin') return false;
  return access === 'read' || role === 'member';
}

/** The tenant scope of a principal's reads: null (every tenant) for admins. */
export const tenantScope = (p: Principal): string | null => (p.role === 'admin' ? null : p.tenantId);
