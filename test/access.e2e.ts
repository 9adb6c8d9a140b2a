import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, type Harness } from './support/harness';

let h: Harness;
let operations: { method: string; path: string; operator: boolean }[];
let unsecured: string[];
/** Operations meant to be open (or guarded otherwise: callbacks carry an HMAC signature). */
const PUBLIC = ['POST /v1/cluster/callbacks', 'GET /healthz', 'GET /readyz', 'GET /metrics'];

before(async () => {
  h = await startBaton({}, { worker: false });
  const doc = (await h.request('GET', '/openapi.json')).body;
  operations = [];
  unsecured = [];
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      // Public operations (health, metrics, the document itself, signed cluster callbacks) name no security.
      if (!op.security || op.security.length === 0) {
        unsecured.push(`${method.toUpperCase()} ${path}`);
        continue;
      }
      // Any id will do: the key is judged before the id is looked at.
      const concrete = path.replace(/\{[^}]+\}/g, 'tsk_00000000000000000000000000');
      operations.push({
        method: method.toUpperCase(),
        path: concrete,
        operator: (op.tags ?? []).includes('operators'),
      });
    }
  }
});
after(() => h.close());

const call = (method: string, path: string, key?: string) =>
  h.request(method, path, { key, body: ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined });

describe('every endpoint of the OpenAPI document', () => {
  test('is described with its security, and there are enough of them to mean something', () => {
    assert.ok(operations.length >= 15, `${operations.length} secured operations`);
    assert.ok(operations.some((o) => o.operator));
    // A route that forgot its @ApiBearerAuth would escape the checks below: only the known public ones may.
    assert.deepEqual(
      unsecured.filter((o) => !PUBLIC.includes(o)),
      [],
    );
  });

  test('refuses a missing, malformed, unknown or revoked key with 401', async () => {
    const revoked = await h.tenant('admin');
    assert.equal((await h.request('DELETE', `/v1/api-keys/${revoked.keyId}`, { key: h.adminKey })).status, 204);
    for (const { method, path } of operations) {
      for (const [what, headers] of Object.entries<Record<string, string>>({
        missing: {},
        malformed: { authorization: 'Basic Zm9vOmJhcg==' },
        unknown: { authorization: 'Bearer bk_not_a_key' },
        revoked: { authorization: `Bearer ${revoked.key}` },
      })) {
        const r = await h.request(method, path, {
          headers,
          body: method === 'GET' || method === 'DELETE' ? undefined : {},
        });
        assert.equal(r.status, 401, `${what} key: ${method} ${path}`);
        assert.equal(r.body.error.code, 'unauthenticated');
      }
    }
  });

  test('a viewer cannot write anything', async () => {
    const viewer = await h.tenant('viewer');
    for (const { method, path } of operations.filter((o) => o.method !== 'GET')) {
      const r = await call(method, path, viewer.key);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.equal(r.body.error.code, 'forbidden');
    }
  });

  test('a member cannot reach operator endpoints', async () => {
    const member = await h.tenant('member');
    for (const { method, path } of operations.filter((o) => o.operator)) {
      const r = await call(method, path, member.key);
      assert.equal(r.status, 403, `${method} ${path}`);
    }
  });

  test('the console takes sessions, not API keys', async () => {
    const r = await h.request('GET', '/admin/queues/api/queues', { key: h.adminKey });
    assert.equal(r.status, 401);
  });
});
