import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

let h: Harness;
let key: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  // Private addresses allowed: the completion-event test points webhooks at the local receiver.
  h = await startBaton({ TASK_CONCURRENCY: '8', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  key = (await h.tenant('member')).key;
  receiver = await startReceiver((path, n) => {
    if (path.startsWith('/flaky')) return { status: n <= 2 ? 503 : 200 };
    if (path.startsWith('/gone')) return { status: 404 };
    if (path.startsWith('/down')) return { status: 500 };
    if (path.startsWith('/slow')) return { status: 200, delayMs: 3000 };
    return { status: 200, body: { hello: 'world' } };
  });
});
after(async () => {
  await receiver.close();
  await h.close();
});

const submit = (body: unknown, k = key) => h.request('POST', '/v1/tasks', { key: k, body });
const get = (id: string) => h.request('GET', `/v1/tasks/${id}`, { key });
const until = (id: string, statuses: string[], timeoutMs = 20_000) =>
  waitFor(
    async () => {
      const r = await get(id);
      return statuses.includes(r.body.status) ? r.body : undefined;
    },
    timeoutMs,
    `task ${id} to reach ${statuses.join('|')}`,
  );

const events = (subjectId: string) => h.runtime.prisma.notificationEvent.findMany({ where: { subjectId } });
const deadLetters = (subjectId: string) => h.runtime.prisma.deadLetter.findMany({ where: { subjectId } });

describe('tasks end to end', () => {
  test('noop: 202 with the task, then succeeded, stored in Postgres; no completion event while no one listens', async () => {
    const r = await submit({ handler: 'noop', payload: { x: 1 } });
    assert.equal(r.status, 202);
    assert.match(r.body.id, /^tsk_/);
    assert.equal(r.body.status, 'queued');
    assert.equal(r.body.progress, 0);
    const done = await until(r.body.id, ['succeeded']);
    assert.equal(done.attempts, 1);
    assert.equal(done.progress, 100);
    assert.deepEqual(done.result, { ok: true });
    assert.ok(done.startedAt && done.finishedAt);
    // Neither its own notify nor a subscription of its tenant: the outbox is not written for nobody.
    assert.equal((await events(r.body.id)).length, 0);
  });

  test('one completion event where it has an audience: its own notify, or a subscription to the type or to all', async () => {
    const t = await h.tenant('member');
    const subscribe = (events: string[]) =>
      h.request('POST', '/v1/subscriptions', { key: t.key, body: { events, webhook: { url: `${receiver.url}/sub` } } });
    const run = async (body: unknown) => {
      const r = await submit(body, t.key);
      assert.equal(r.status, 202);
      await waitFor(
        async () => (await h.request('GET', `/v1/tasks/${r.body.id}`, { key: t.key })).body.status === 'succeeded',
        20_000,
        `task ${r.body.id} to succeed`,
      );
      return events(r.body.id);
    };
    // Its own notify, while its tenant has no subscription.
    const own = await run({ handler: 'noop', notify: { webhook: { url: `${receiver.url}/own` } } });
    assert.equal(own.length, 1);
    assert.equal(own[0].type, 'task.completed');
    assert.equal((own[0].payload as any).status, 'succeeded');
    // A subscription to other types only is no audience.
    assert.equal((await subscribe(['batch.completed'])).status, 201);
    assert.equal((await run({ handler: 'noop' })).length, 0);
    // A subscription to every type is.
    const all = await subscribe([]);
    assert.equal(all.status, 201);
    assert.equal((await run({ handler: 'noop' })).length, 1);
    // Deleted, it is not any more; a subscription to task.completed is.
    assert.equal((await h.request('DELETE', `/v1/subscriptions/${all.body.id}`, { key: t.key })).status, 204);
    assert.equal((await run({ handler: 'noop' })).length, 0);
    assert.equal((await subscribe(['task.completed'])).status, 201);
    const ev = await run({ handler: 'noop' });
    assert.equal(ev.length, 1);
    assert.equal(ev[0].tenantId, t.tenantId);
  });

  test('sleep reports progress while it runs', async () => {
    const r = await submit({ handler: 'sleep', payload: { ms: 2000, steps: 4 } });
    const seen = new Set<number>();
    await waitFor(async () => {
      const t = (await get(r.body.id)).body;
      seen.add(t.progress);
      return t.status === 'succeeded';
    });
    assert.ok(
      [...seen].some((p) => p > 0 && p < 100),
      `intermediate progress seen: ${[...seen].join(',')}`,
    );
  });

  test('http: transient failures are retried with backoff until success', async () => {
    const r = await submit({ handler: 'http', payload: { url: `${receiver.url}/flaky/1` }, maxAttempts: 5 });
    const done = await until(r.body.id, ['succeeded', 'failed']);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.attempts, 3);
    assert.equal(receiver.hitsOn('/flaky/1').length, 3);
    assert.equal(done.lastError.code, 'http_503', 'the last failure stays visible');
    const logs = await h.request('GET', `/v1/tasks/${r.body.id}/logs`, { key });
    assert.equal(logs.status, 200);
    assert.equal(logs.body.data.length, 3);
    assert.match(logs.body.data[0].message, /answered 503/);
  });

  test('http: a permanent error fails at once and goes to dead letters', async () => {
    // With a notify of its own, so that its completion event is written.
    const r = await submit({
      handler: 'http',
      payload: { url: `${receiver.url}/gone` },
      maxAttempts: 5,
      notify: { webhook: { url: `${receiver.url}/completions` } },
    });
    const done = await until(r.body.id, ['succeeded', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.attempts, 1);
    assert.deepEqual(
      { code: done.lastError.code, retryable: done.lastError.retryable },
      { code: 'http_404', retryable: false },
    );
    assert.equal(receiver.hitsOn('/gone').length, 1);
    const dlq = await deadLetters(r.body.id);
    assert.equal(dlq.length, 1);
    assert.equal(dlq[0].kind, 'task');
    assert.equal((await events(r.body.id)).length, 1);
  });

  test('http: retries run out, then the task fails into dead letters', async () => {
    const r = await submit({ handler: 'http', payload: { url: `${receiver.url}/down` }, maxAttempts: 3 });
    const done = await until(r.body.id, ['succeeded', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.attempts, 3);
    assert.equal(receiver.hitsOn('/down').length, 3);
    assert.equal((await deadLetters(r.body.id)).length, 1);
    assert.equal((await events(r.body.id)).length, 0, 'no notify, no subscription: no completion event');
  });

  test('timeoutMs aborts an attempt and counts as a retryable failure', async () => {
    const r = await submit({
      handler: 'http',
      payload: { url: `${receiver.url}/slow`, timeoutMs: 5000 },
      timeoutMs: 200,
      maxAttempts: 2,
    });
    const done = await until(r.body.id, ['succeeded', 'failed']);
    assert.equal(done.status, 'failed');
    assert.equal(done.attempts, 2);
    assert.equal(done.lastError.code, 'timeout');
  });

  test('cancel: a delayed task never starts; a running one is aborted', async () => {
    const later = await submit({ handler: 'http', payload: { url: `${receiver.url}/never` }, delayMs: 1500 });
    const c1 = await h.request('POST', `/v1/tasks/${later.body.id}/cancel`, { key });
    assert.equal(c1.status, 202);
    assert.equal(c1.body.status, 'cancelled');
    const running = await submit({
      handler: 'sleep',
      payload: { ms: 20_000, steps: 100 },
      notify: { webhook: { url: `${receiver.url}/completions` } },
    });
    await until(running.body.id, ['running']);
    const c2 = await h.request('POST', `/v1/tasks/${running.body.id}/cancel`, { key });
    assert.equal(c2.body.status, 'cancelled');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(receiver.hitsOn('/never').length, 0, 'the cancelled delayed task never ran');
    const after = (await get(running.body.id)).body;
    assert.equal(after.status, 'cancelled');
    const job = await h.runtime.producer.queue('tasks').getJob(running.body.id);
    assert.ok(!job || (await job.getState()) !== 'active', 'the running job was stopped');
    const again = await h.request('POST', `/v1/tasks/${running.body.id}/cancel`, { key });
    assert.equal(again.status, 202, 'cancelling twice is fine');
    assert.equal((await events(running.body.id)).length, 1);
  });

  test('dedupeKey returns the existing task instead of a second one', async () => {
    const a = await submit({ handler: 'noop', dedupeKey: 'nightly-2026-03-01' });
    const b = await submit({ handler: 'noop', dedupeKey: 'nightly-2026-03-01' });
    assert.equal(a.body.id, b.body.id);
    assert.equal(await h.runtime.prisma.task.count({ where: { dedupeKey: 'nightly-2026-03-01' } }), 1);
  });

  test('the database id is the BullMQ job id', async () => {
    const r = await submit({ handler: 'sleep', payload: { ms: 1000 } });
    const job = await waitFor(() => h.runtime.producer.queue('tasks').getJob(r.body.id), 5000, 'the job');
    assert.equal(job.id, r.body.id);
    // Under fair sharing (the default) a task not yet due waits in its tenant's lane, under the same id.
    const later = await submit({ handler: 'sleep', payload: { ms: 100 }, delayMs: 60_000 });
    assert.equal(await h.runtime.producer.queue('tasks').getJob(later.body.id), undefined);
    assert.deepEqual(await h.runtime.fair.tasks!.holds([later.body.id]), [true]);
  });
});
