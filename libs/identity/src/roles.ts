import { ROLES, type Role } from '@baton/core';

/** Roles that may use the operator console: admins act, viewers look. Members run their tenant's work by API only. */
export const CONSOLE_ROLES: readonly Role[] = ['admin', 'viewer'];

export const canUseConsole = (role: Role): boolean => CONSOLE_ROLES.includes(role);

/** Admins may act in the console (retry, remove, pause); viewers only look. */
export const canActInConsole = (role: Role): boolean => role === 'admin';

const RANK: Record<Role, number> = { admin: 3, member: 2, viewer: 1 };

/**
 * `group=role` pairs, comma-separated (`baton-ops=admin,auditors=viewer`), as a map from claim value to role.
 * Throws with a message naming the bad pair.
 */
export function parseRoleMap(text: string): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const pair of text.split(',').map((p) => p.trim())) {
    if (pair === '') continue;
    const eq = pair.lastIndexOf('=');
    const value = pair.slice(0, eq).trim();
    const role = pair.slice(eq + 1).trim() as Role;
    if (eq <= 0 || value === '' || !ROLES.includes(role)) {
      throw new Error(`"${pair}" is not value=role with role one of ${ROLES.join(', ')}`);
    }
    map.set(value, role);
  }
  return map;
}

/** Reads a claim by name; a dotted name walks into objects (`realm_access.roles`) unless the flat name exists. */
export function readClaim(claims: Record<string, unknown>, name: string): unknown {
  if (name in claims) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * The Baton role a person's ID token claims grant: the claim's value(s) (a string, a space- or comma-separated string,
 * or an array of strings) mapped through `map` (or taken as role names when the map is empty); the highest role wins.
 * Null when nothing maps: such a person is signed in to no role and refused.
 */
export function roleFromClaims(claims: Record<string, unknown>, claim: string, map: Map<string, Role>): Role | null {
  const raw = readClaim(claims, claim);
  const values = Array.isArray(raw)
    ? raw.filter((v): v is string => typeof v === 'string')
    : typeof raw === 'string'
      ? raw.split(/[\s,]+/)
      : [];
  let best: Role | null = null;
  for (const value of values) {
    const role = map.size > 0 ? map.get(value) : ROLES.find((r) => r === value);
    if (role && (best === null || RANK[role] > RANK[best])) best = role;
  }
  return best;
}
