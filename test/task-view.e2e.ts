// A task's completion event carries the task as GET /v1/tasks/:id shows it. The success path builds that payload in
// Postgres (taskViewSql) and the API in JavaScript (toTaskView): these tests keep the two the same, on rows made to
// reach every branch of the view and on the real path from POST to the outbox.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pool } from 'pg';
import { newId } from '@baton/core';
import { taskCompletionKeySql, taskViewSql } from '@baton/db';
import { taskCompletionKey } from '@baton/tasks';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

let h: Harness;
let pool: Pool;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  h = await startBaton({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  pool = new Pool({ connectionString: h.databaseUrl, max: 2 });
  receiver = await startReceiver(() => ({ status: 200 }));
});
after(async () => {
  await pool.end();
  await receiver.close();
  await h.close();
});

/** The view and completion key as the success statement makes them, for one stored task. */
async function fromSql(id: string): Promise<{ view: unknown; key: string; generation: number }> {
  const { rows } = await pool.query<{ view: unknown; key: string; generation: number }>(
    `SELECT ${taskViewSql('t')} AS view, ${taskCompletionKeySql('t')} AS key, t.generation FROM tasks t WHERE id = $1`,
    [id],
  );
  return rows[0];
}

test('taskViewSql gives what GET /v1/tasks/:id gives, for every kind of value a task holds', async () => {
  const t = await h.tenant('member');
  // Ended tasks only (nothing runs them): every optional field set and unset, JSON null at the top and inside,
  // falsy values, text beyond ASCII, instants with milliseconds, a later generation.
  const rows = [
    {
      status: 'succeeded',
      payload: { a: null, b: [1, null, { c: null }], s: 'grüße ✓ "quoted"' },
      result: { ok: true, nested: { n: null } },
      lastError: { code: 'http_503', message: 'attempt 1', retryable: true, attempt: 1 },
      progress: 100,
      attempts: 2,
      generation: 3,
      runAt: '2026-11-24T01:02:03.004Z',
      deadlineAt: '2026-12-31T23:59:59.999Z',
      startedAt: '2026-11-24T01:02:04.100Z',
      finishedAt: '2026-11-24T01:02:05.120Z',
      dedupeKey: 'order-42',
    },
    { status: 'failed', payload: null, result: null, lastError: { code: 'x', message: 'y' }, progress: 10 },
    { status: 'cancelled', payload: undefined, result: 0, lastError: undefined, progress: 0 },
    {
      status: 'succeeded',
      payload: false,
      result: '',
      lastError: null,
      progress: 37,
      startedAt: '2026-01-01T00:00:00.000Z',
    },
    { status: 'succeeded', payload: [], result: [null], lastError: undefined, progress: 100 },
  ];
  for (const [i, r] of rows.entries()) {
    const id = newId('task');
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
    await pool.query(
      `INSERT INTO tasks (id, tenant_id, handler, payload, status, progress, result, last_error, attempts, max_attempts,
                          generation, priority, run_at, deadline_at, dedupe_key, started_at, finished_at)
       VALUES ($1, $2, 'noop', $3::jsonb, $4::"WorkStatus", $5, $6::jsonb, $7::jsonb, $8, 5, $9, $10, $11, $12, $13,
               $14, $15)`,
      [
        id,
        t.tenantId,
        json(r.payload),
        r.status,
        r.progress,
        json(r.result),
        json(r.lastError),
        r.attempts ?? 1,
        r.generation ?? 0,
        i + 1,
        r.runAt ?? null,
        r.deadlineAt ?? null,
        r.dedupeKey ?? null,
        r.startedAt ?? null,
        r.finishedAt ?? null,
      ],
    );
    const api = await h.request('GET', `/v1/tasks/${id}`, { key: t.key });
    assert.equal(api.status, 200);
    const sql = await fromSql(id);
    assert.deepEqual(sql.view, api.body, `row ${i}: the SQL view differs from the API's`);
    assert.equal(sql.key, taskCompletionKey({ id, generation: sql.generation }));
  }
});

test('a task that succeeds with an audience has its event payload equal to its GET, written once', async () => {
  const t = await h.tenant('member');
  const sub = await h.request('POST', '/v1/subscriptions', {
    key: t.key,
    body: { events: ['task.completed'], webhook: { url: `${receiver.url}/hook` } },
  });
  assert.equal(sub.status, 201);
  const created = await h.request('POST', '/v1/tasks', {
    key: t.key,
    body: { handler: 'noop', payload: { x: null, y: [1, null] }, priority: 2, dedupeKey: 'view-check' },
  });
  assert.equal(created.status, 202);
  const id = created.body.id as string;
  const done = await waitFor(
    async () => {
      const r = await h.request('GET', `/v1/tasks/${id}`, { key: t.key });
      return r.body.status === 'succeeded' ? r.body : undefined;
    },
    20_000,
    `task ${id} to succeed`,
  );
  const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: id } });
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'task.completed');
  assert.equal(events[0].tenantId, t.tenantId);
  assert.equal(events[0].dedupKey, taskCompletionKey({ id, generation: 0 }));
  assert.deepEqual(events[0].payload, done);
});
