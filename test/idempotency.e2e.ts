import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '@baton/core';
import { rand, startBaton, type Harness } from './support/harness';

let h: Harness;
let tenant: { tenantId: string; key: string };

before(async () => {
  h = await startBaton({}, { worker: false });
  tenant = await h.tenant('member');
});
after(() => h.close());

const post = (body: unknown, idemKey?: string, key = tenant.key) =>
  h.request('POST', '/v1/tasks', { key, body, headers: idemKey ? { 'idempotency-key': idemKey } : {} });
const countTasks = (where: object = {}) =>
  h.runtime.prisma.task.count({ where: { tenantId: tenant.tenantId, ...where } });

describe('Idempotency-Key', () => {
  test('same key and body: the first response again, replayed', async () => {
    const k = `k-${rand()}`;
    const first = await post({ handler: 'noop', payload: { n: 1 } }, k);
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await post({ payload: { n: 1 }, handler: 'noop' }, k);
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await countTasks({ id: first.body.id }), 1);
  });

  test('same key, different body: 422 idempotency_key_reused', async () => {
    const k = `k-${rand()}`;
    await post({ handler: 'noop', payload: { n: 1 } }, k);
    const r = await post({ handler: 'noop', payload: { n: 2 } }, k);
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'idempotency_key_reused');
    assert.equal(r.body.error.retryable, false);
  });

  test('keys are scoped to the tenant', async () => {
    const other = await h.tenant('member');
    const k = `k-${rand()}`;
    const a = await post({ handler: 'noop' }, k);
    const b = await post({ handler: 'noop' }, k, other.key);
    assert.equal(b.status, 202);
    assert.notEqual(a.body.id, b.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), null);
  });

  test('while the first request is in progress: 409, retryable', async () => {
    const k = `k-${rand()}`;
    // A request holding the key right now, as a concurrent API replica would.
    await h.runtime.stores.idempotency.claim({
      tenantId: tenant.tenantId,
      key: k,
      operation: 'POST /v1/tasks',
      fingerprint: 'whatever',
      resourceId: newId('task'),
      expiresAt: new Date(Date.now() + 3600_000),
    });
    const r = await post({ handler: 'noop' }, k);
    assert.equal(r.status, 422, 'a different body is still 422');
    const fp = (await import('@baton/core')).requestFingerprint('POST /v1/tasks', { handler: 'noop' });
    await h.runtime.prisma.idempotencyRecord.update({
      where: { tenantId_key: { tenantId: tenant.tenantId, key: k } },
      data: { fingerprint: fp },
    });
    const inFlight = await post({ handler: 'noop' }, k);
    assert.equal(inFlight.status, 409);
    assert.equal(inFlight.body.error.code, 'idempotency_request_in_progress');
    assert.equal(inFlight.body.error.retryable, true);
  });

  test('50 concurrent duplicates create exactly one task', async () => {
    const k = `k-${rand()}`;
    const before = await countTasks();
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => post({ handler: 'noop', payload: { same: true } }, k)),
    );
    const statuses = replies.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 202 || s === 409),
      statuses.join(','),
    );
    const ids = new Set(replies.filter((r) => r.status === 202).map((r) => r.body.id));
    assert.equal(ids.size, 1, 'every success names the same task');
    assert.equal((await countTasks()) - before, 1);
  });

  test('a request that crashed after creating its object: the retry returns that object, not a second one', async () => {
    const k = `k-${rand()}`;
    const body = { handler: 'noop', payload: { crash: true } };
    const fp = (await import('@baton/core')).requestFingerprint('POST /v1/tasks', body);
    const reserved = newId('task');
    // The crashed request: claimed the key, reserved an id, created the task, died before recording its answer.
    await h.runtime.prisma.idempotencyRecord.create({
      data: {
        tenantId: tenant.tenantId,
        key: k,
        operation: 'POST /v1/tasks',
        fingerprint: fp,
        resourceId: reserved,
        createdAt: new Date(Date.now() - 5 * 60_000),
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    await h.runtime.prisma.task.create({
      data: { id: reserved, tenantId: tenant.tenantId, handler: 'noop', payload: body.payload, maxAttempts: 3 },
    });
    const retry = await post(body, k);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.id, reserved);
    assert.equal(await countTasks({ payload: { equals: body.payload } }), 1);
    const replay = await post(body, k);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(replay.body.id, reserved);
  });

  test('a failed request releases its key; bad keys are 400', async () => {
    const k = `k-${rand()}`;
    const bad = await post({ handler: 'nope' }, k);
    assert.equal(bad.status, 400);
    const good = await post({ handler: 'noop' }, k);
    assert.equal(good.status, 202, 'the key is free again after a failed request');
    const tooLong = await post({ handler: 'noop' }, 'x'.repeat(256));
    assert.equal(tooLong.status, 400);
    assert.equal(tooLong.body.error.details[0].field, 'Idempotency-Key');
  });

  test('works for every create endpoint: tenants and api keys too', async () => {
    const k = `k-${rand()}`;
    const a = await h.request('POST', '/v1/tenants', {
      key: h.adminKey,
      body: { name: 'same' },
      headers: { 'idempotency-key': k },
    });
    const b = await h.request('POST', '/v1/tenants', {
      key: h.adminKey,
      body: { name: 'same' },
      headers: { 'idempotency-key': k },
    });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.body.id, a.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    const k2 = `k-${rand()}`;
    const key1 = await h.request('POST', `/v1/tenants/${a.body.id}/api-keys`, {
      key: h.adminKey,
      body: { role: 'viewer' },
      headers: { 'idempotency-key': k2 },
    });
    const key2 = await h.request('POST', `/v1/tenants/${a.body.id}/api-keys`, {
      key: h.adminKey,
      body: { role: 'viewer' },
      headers: { 'idempotency-key': k2 },
    });
    assert.equal(key1.status, 201);
    assert.match(key1.body.secret, /^bk_/);
    assert.equal(key2.body.id, key1.body.id);
    assert.equal(key2.body.secret, undefined, 'a replay never shows the secret again');
    const stored = await h.runtime.prisma.idempotencyRecord.findMany();
    assert.ok(!JSON.stringify(stored).includes(key1.body.secret), 'secrets are not kept in idempotency records');
  });
});
