import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canActInConsole, canUseConsole, parseRoleMap, readClaim, roleFromClaims } from './roles';
import { decodeSession, encodeSession, isLive, newSession, safeReturnPath } from './session';

describe('roles from claims', () => {
  const none = new Map();

  test('a role name in the claim is the role; the highest of several wins', () => {
    assert.equal(roleFromClaims({ baton_role: 'viewer' }, 'baton_role', none), 'viewer');
    assert.equal(roleFromClaims({ baton_role: ['viewer', 'admin', 'member'] }, 'baton_role', none), 'admin');
    assert.equal(roleFromClaims({ baton_role: 'member viewer' }, 'baton_role', none), 'member');
    assert.equal(roleFromClaims({ baton_role: 'viewer,member' }, 'baton_role', none), 'member');
  });

  test('nothing that maps is no role', () => {
    assert.equal(roleFromClaims({}, 'baton_role', none), null);
    assert.equal(roleFromClaims({ baton_role: 'root' }, 'baton_role', none), null);
    assert.equal(roleFromClaims({ baton_role: 42 }, 'baton_role', none), null);
    assert.equal(roleFromClaims({ baton_role: [1, { admin: true }] }, 'baton_role', none), null);
    assert.equal(roleFromClaims({ baton_role: 'Admin' }, 'baton_role', none), null, 'case matters');
  });

  test('a map turns group names into roles; unmapped values count for nothing, even role names', () => {
    const map = parseRoleMap('baton-ops=admin, auditors=viewer,devs=member');
    assert.equal(roleFromClaims({ groups: ['devs', 'auditors'] }, 'groups', map), 'member');
    assert.equal(roleFromClaims({ groups: ['auditors'] }, 'groups', map), 'viewer');
    assert.equal(roleFromClaims({ groups: ['admin'] }, 'groups', map), null);
  });

  test('a dotted claim name walks into objects; a flat name with a dot is read first', () => {
    const claims = { realm_access: { roles: ['admin'] }, 'https://x.example/role': 'viewer' };
    assert.deepEqual(readClaim(claims, 'realm_access.roles'), ['admin']);
    assert.equal(roleFromClaims(claims, 'realm_access.roles', none), 'admin');
    assert.equal(roleFromClaims(claims, 'https://x.example/role', none), 'viewer');
    assert.equal(readClaim(claims, 'realm_access.nope.deeper'), undefined);
  });

  test('a bad role map is refused with the pair named', () => {
    assert.throws(() => parseRoleMap('ops=root'), /"ops=root"/);
    assert.throws(() => parseRoleMap('=admin'), /"=admin"/);
    assert.throws(() => parseRoleMap('admin'), /"admin"/);
    assert.equal(parseRoleMap('').size, 0);
    assert.equal(parseRoleMap('a=b=admin').get('a=b'), 'admin');
  });

  test('admins and viewers use the console; only admins act; members are refused', () => {
    assert.deepEqual(
      (['admin', 'member', 'viewer'] as const).map((r) => [canUseConsole(r), canActInConsole(r)]),
      [
        [true, true],
        [false, false],
        [true, false],
      ],
    );
  });
});

describe('sessions', () => {
  const t0 = Date.UTC(2026, 10, 22, 12, 0, 0);
  const who = { sub: 'alice', name: 'Alice', role: 'admin' as const, via: 'oidc' as const };

  test('round-trip while live; gone at expiry', () => {
    const s = newSession(who, 3600, t0);
    assert.equal(s.exp - s.iat, 3600);
    assert.deepEqual(decodeSession(encodeSession(s), t0 + 1000), s);
    assert.deepEqual(decodeSession(encodeSession(s), t0 + 3599_000), s);
    assert.equal(decodeSession(encodeSession(s), t0 + 3600_000), null);
    assert.equal(isLive(s, t0 + 10 * 3600_000), false);
  });

  test('a session issued in the future (beyond a minute of skew) is not live', () => {
    const s = newSession(who, 3600, t0 + 5 * 60_000);
    assert.equal(decodeSession(encodeSession(s), t0), null);
    assert.ok(decodeSession(encodeSession(newSession(who, 3600, t0 + 30_000)), t0));
  });

  test('malformed values and unknown roles are no session', () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const good = newSession(who, 60, t0);
    for (const value of [
      '',
      'not base64 json',
      enc(null),
      enc([]),
      enc({ ...good, role: 'root' }),
      enc({ ...good, via: 'magic' }),
      enc({ ...good, exp: '9999999999' }),
      enc({ ...good, sub: 7 }),
    ]) {
      assert.equal(decodeSession(value, t0), null, value);
    }
  });

  test('return paths stay on this site', () => {
    assert.equal(safeReturnPath('/admin/queues/queue/tasks?x=1'), '/admin/queues/queue/tasks?x=1');
    for (const bad of [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'admin',
      '',
      undefined,
      5,
      '/a\nb',
    ]) {
      assert.equal(safeReturnPath(bad), '/admin', String(bad));
    }
  });
});
