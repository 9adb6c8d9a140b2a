import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, type Harness } from './support/harness';

let h: Harness;
before(async () => {
  h = await startBaton({ BODY_LIMIT_BYTES: String(64 * 1024) }, { worker: false });
});
after(() => h.close());

function assertEnvelope(body: any, code: string, retryable: boolean): void {
  assert.equal(body.error.code, code, JSON.stringify(body));
  assert.equal(body.error.retryable, retryable);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.requestId, 'string');
  assert.doesNotMatch(JSON.stringify(body), /at .*\.js:\d+/, 'no stack trace');
}

describe('auth and roles', () => {
  test('missing, malformed, unknown and revoked keys are 401', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer nope' }] as Record<
      string,
      string
    >[]) {
      const r = await h.request('GET', '/v1/tasks/tsk_00000000000000000000000000', { headers });
      assert.equal(r.status, 401);
      assertEnvelope(r.body, 'unauthenticated', false);
    }
    const t = await h.tenant('member');
    assert.equal((await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } })).status, 202);
    const del = await h.request('DELETE', `/v1/api-keys/${t.keyId}`, { key: h.adminKey });
    assert.equal(del.status, 204);
    const after = await h.request('POST', '/v1/tasks', { key: t.key, body: { handler: 'noop' } });
    assert.equal(after.status, 401, 'a revoked key stops working at once');
    assert.equal(
      (await h.request('DELETE', '/v1/api-keys/key_00000000000000000000000000', { key: h.adminKey })).status,
      404,
    );
  });

  test('a viewer reads but cannot write; a member cannot reach operator endpoints', async () => {
    const member = await h.tenant('member');
    const viewer = await h.tenant('viewer');
    const created = await h.request('POST', '/v1/tasks', { key: viewer.key, body: { handler: 'noop' } });
    assert.equal(created.status, 403);
    assertEnvelope(created.body, 'forbidden', false);
    const op = await h.request('POST', '/v1/tenants', { key: member.key, body: { name: 'x' } });
    assert.equal(op.status, 403);
    const keys = await h.request('POST', `/v1/tenants/${member.tenantId}/api-keys`, {
      key: member.key,
      body: { role: 'admin' },
    });
    assert.equal(keys.status, 403, 'a member cannot mint an admin key');
  });

  test('api keys are stored hashed and shown once', async () => {
    const t = await h.tenant('member');
    const rows = await h.runtime.prisma.apiKey.findMany({ where: { tenantId: t.tenantId } });
    assert.equal(rows.length, 1);
    assert.notEqual(rows[0].secretHash, t.key);
    assert.ok(!JSON.stringify(rows).includes(t.key));
    const tenant = await h.request('GET', `/v1/tenants/${t.tenantId}`, { key: h.adminKey });
    assert.equal(tenant.status, 200);
    assert.ok(!JSON.stringify(tenant.body).includes('secret'));
  });
});

describe('tenant isolation', () => {
  test("another tenant's task answers 404, for reads, logs and cancel", async () => {
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    const created = await h.request('POST', '/v1/tasks', { key: a.key, body: { handler: 'noop' } });
    const id = created.body.id;
    for (const [method, path] of [
      ['GET', `/v1/tasks/${id}`],
      ['GET', `/v1/tasks/${id}/logs`],
      ['POST', `/v1/tasks/${id}/cancel`],
    ]) {
      const r = await h.request(method, path, { key: b.key });
      assert.equal(r.status, 404, `${method} ${path}`);
      assertEnvelope(r.body, 'not_found', false);
    }
    assert.equal((await h.request('GET', `/v1/tasks/${id}`, { key: a.key })).status, 200);
    assert.equal(
      (await h.request('GET', `/v1/tasks/${id}`, { key: h.adminKey })).status,
      200,
      'admins see every tenant',
    );
    assert.equal((await h.request('GET', '/v1/tasks/not-an-id', { key: a.key })).status, 404);
  });
});

describe('the error envelope', () => {
  let key: string;
  before(async () => {
    key = (await h.tenant('member')).key;
  });

  test('malformed JSON is 400 malformed_json', async () => {
    for (const raw of ['{"handler": ', '{"handler":"noop"}}', 'nul']) {
      const r = await h.request('POST', '/v1/tasks', { key, raw });
      assert.equal(r.status, 400, raw);
      assertEnvelope(r.body, 'malformed_json', false);
    }
  });

  test('bodies that are not objects, unknown fields and bad values name each field', async () => {
    const notObject = await h.request('POST', '/v1/tasks', { key, raw: '[1,2]' });
    assert.equal(notObject.status, 400);
    assertEnvelope(notObject.body, 'validation_failed', false);
    const r = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'noop', priority: 11, maxAttempts: 0, bogus: 1, runAt: 'tomorrow' },
    });
    assert.equal(r.status, 400);
    assertEnvelope(r.body, 'validation_failed', false);
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    assert.deepEqual([...new Set(fields)], ['bogus', 'maxAttempts', 'priority', 'runAt']);
    const unknownHandler = await h.request('POST', '/v1/tasks', { key, body: { handler: 'rm -rf' } });
    assert.equal(unknownHandler.status, 400);
    assert.equal(unknownHandler.body.error.details[0].field, 'handler');
    const badPayload = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'http', payload: { url: 'file:///etc/passwd' } },
    });
    assert.equal(badPayload.status, 400);
    assert.equal(badPayload.body.error.details[0].field, 'payload.url');
  });

  test('bodies over the limit are 413; wrong content types are 415; unknown routes 404', async () => {
    const big = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'noop', payload: 'x'.repeat(100 * 1024) },
    });
    assert.equal(big.status, 413);
    assertEnvelope(big.body, 'payload_too_large', false);
    const text = await h.request('POST', '/v1/tasks', { key, raw: 'hello', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    assertEnvelope(text.body, 'unsupported_media_type', false);
    const missing = await h.request('GET', '/v1/nothing-here', { key });
    assert.equal(missing.status, 404);
    assertEnvelope(missing.body, 'not_found', false);
    const unauthMissing = await h.request('GET', '/nothing');
    assert.equal(unauthMissing.status, 404);
    assertEnvelope(unauthMissing.body, 'not_found', false);
  });

  test('X-Request-Id is echoed, or generated, and appears in error bodies', async () => {
    const echoed = await h.request('GET', '/v1/tasks/x', { key, headers: { 'x-request-id': 'client-req-42' } });
    assert.equal(echoed.headers.get('x-request-id'), 'client-req-42');
    assert.equal(echoed.body.error.requestId, 'client-req-42');
    const generated = await h.request('GET', '/healthz');
    assert.match(generated.headers.get('x-request-id') ?? '', /^req_/);
    const hostile = await h.request('GET', '/healthz', { headers: { 'x-request-id': 'bad id <script>' } });
    assert.match(hostile.headers.get('x-request-id') ?? '', /^req_/);
  });
});

describe('service endpoints', () => {
  test('healthz, readyz and metrics', async () => {
    assert.deepEqual((await h.request('GET', '/healthz')).body, { status: 'ok' });
    const ready = await h.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { redis: 'ok', postgres: 'ok' });
    const metrics = await h.request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /baton_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /baton_process_resident_memory_bytes/);
    assert.match(metrics.body, /baton_queue_jobs\{queue="tasks",state="waiting"\} \d+/);
    assert.match(metrics.body, /baton_queue_oldest_waiting_seconds\{queue="tasks"\} [\d.]+/);
  });

  test('openapi.json describes what exists, as API.md names it', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([path, methods]: [string, any]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'POST /v1/tasks',
      'GET /v1/tasks/{id}',
      'GET /v1/tasks/{id}/logs',
      'POST /v1/tasks/{id}/cancel',
      'POST /v1/tenants',
      'POST /v1/tenants/{id}/api-keys',
      'DELETE /v1/api-keys/{id}',
    ]) {
      assert.ok(ops.includes(op), `${op} in ${ops.join(', ')}`);
    }
    assert.equal(doc.paths['/v1/tasks'].post.responses['202'] !== undefined, true);
    const createTask = doc.components.schemas.CreateTaskDto.properties;
    for (const field of [
      'handler',
      'payload',
      'priority',
      'runAt',
      'delayMs',
      'maxAttempts',
      'timeoutMs',
      'deadlineAt',
      'dedupeKey',
    ]) {
      assert.ok(createTask[field], field);
    }
    assert.ok(doc.components.schemas.Error);
    const docs = await h.request('GET', '/docs');
    assert.equal(docs.status, 200);
    assert.match(String(docs.body), /swagger/i);
  });
});
