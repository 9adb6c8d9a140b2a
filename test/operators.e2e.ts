import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

let h: Harness;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let flaky = true;

before(async () => {
  // Private addresses allowed: a task below announces its completions to the local receiver.
  h = await startBaton({ HISTORY_RETENTION_DAYS: '1', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
  a = await h.tenant('member');
  b = await h.tenant('member');
  receiver = await startReceiver((path) => ({ status: path.startsWith('/broken') && flaky ? 404 : 200 }));
});
after(async () => {
  await receiver.close();
  await h.close();
});

const admin = (method: string, path: string, body?: unknown) => h.request(method, path, { key: h.adminKey, body });
const submit = (t: { key: string }, body: unknown) => h.request('POST', '/v1/tasks', { key: t.key, body });
const taskStatus = async (id: string) => (await h.request('GET', `/v1/tasks/${id}`, { key: h.adminKey })).body.status;

describe('operator endpoints', () => {
  test('are for admins only', async () => {
    for (const [method, path] of [
      ['GET', '/v1/queues'],
      ['POST', '/v1/queues/tasks/pause'],
      ['GET', '/v1/jobs'],
      ['GET', '/v1/dead-letters'],
    ]) {
      const r = await h.request(method, path, { key: a.key });
      assert.equal(r.status, 403, `${method} ${path}`);
    }
  });

  test('queues: depth, pause and resume, oldest waiting age', async () => {
    const paused = await admin('POST', '/v1/queues/tasks/pause');
    assert.equal(paused.status, 202);
    assert.equal(paused.body.paused, true);
    const t = await submit(a, { handler: 'noop' });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(await taskStatus(t.body.id), 'queued', 'a paused queue starts nothing');
    const list = await admin('GET', '/v1/queues');
    assert.equal(list.status, 200);
    const tasks = list.body.data.find((q: { name: string }) => q.name === 'tasks');
    const fields = [
      'active',
      'completed',
      'completedPerSecond',
      'delayed',
      'failed',
      'failedPerSecond',
      'name',
      'oldestWaitingMs',
      'paused',
      'waiting',
    ];
    const byName = (name: string) => list.body.data.find((q: { name: string }) => q.name === name);
    assert.deepEqual(Object.keys(byName('maintenance')).sort(), fields);
    // A fair-shared queue adds its tenants' shares and its jobs waiting for a later time.
    assert.deepEqual(Object.keys(tasks).sort(), [...fields, 'later', 'tenants'].sort());
    assert.ok(tasks.tenants.some((s: { tenantId: string; waiting: number }) => s.tenantId === a.tenantId));
    assert.ok(list.body.data.some((q: { name: string }) => q.name === 'maintenance'));
    assert.equal(tasks.paused, true);
    assert.ok(tasks.waiting >= 1);
    assert.ok(tasks.oldestWaitingMs >= 600, `oldest waiting ${tasks.oldestWaitingMs} ms`);
    assert.equal((await admin('POST', '/v1/queues/tasks/resume')).body.paused, false);
    await waitFor(async () => (await taskStatus(t.body.id)) === 'succeeded', 10_000, 'the task after resume');
    assert.equal((await admin('POST', '/v1/queues/nope/pause')).status, 404);
  });

  test('jobs: history from Postgres with filters and pagination, after Redis has let go', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(b, { handler: 'noop' })).body.id);
    for (const id of ids) await waitFor(async () => (await taskStatus(id)) === 'succeeded', 10_000, id);
    // Redis keeps only some finished jobs; history does not depend on it.
    for (const id of ids) await (await h.runtime.producer.queue('tasks').getJob(id))?.remove();
    const first = await admin('GET', `/v1/jobs?tenant=${b.tenantId}&status=succeeded&limit=3`);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.data.map((j: { id: string }) => j.id),
      ids.slice(2).reverse(),
      'newest first',
    );
    assert.equal(first.body.data[0].kind, 'task');
    assert.equal(first.body.data[0].name, 'noop');
    const second = await admin(
      'GET',
      `/v1/jobs?tenant=${b.tenantId}&status=succeeded&limit=3&cursor=${first.body.nextCursor}`,
    );
    assert.deepEqual(
      second.body.data.map((j: { id: string }) => j.id),
      ids.slice(0, 2).reverse(),
    );
    assert.equal(second.body.nextCursor, null);
    const long = await submit(b, { handler: 'sleep', payload: { ms: 3000, steps: 30 } });
    await waitFor(
      async () => {
        const running = await admin('GET', `/v1/jobs?status=running&tenant=${b.tenantId}`);
        return running.body.data.some((j: { id: string }) => j.id === long.body.id);
      },
      5000,
      'the sleep task to show as running',
    );
    for (const bad of ['status=bogus', 'tenant=acme', 'kind=spaceship', 'limit=0']) {
      const r = await admin('GET', `/v1/jobs?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'validation_failed');
    }
  });

  test('dead letters: listed, replayed once, and the replay runs the task again', async () => {
    flaky = true;
    // Its own notify: a completion event is written for each generation (none would be without an audience).
    const t = await submit(a, {
      handler: 'http',
      payload: { url: `${receiver.url}/broken` },
      maxAttempts: 2,
      notify: { webhook: { url: `${receiver.url}/completions` } },
    });
    await waitFor(async () => (await taskStatus(t.body.id)) === 'failed', 10_000, 'the task to fail');
    const list = await admin('GET', `/v1/dead-letters?kind=task&tenant=${a.tenantId}`);
    const letter = list.body.data.find((d: { subjectId: string }) => d.subjectId === t.body.id);
    assert.ok(letter, 'the failed task is a dead letter');
    assert.equal(letter.error.code, 'http_404');
    flaky = false;
    const replay = await admin('POST', `/v1/dead-letters/${letter.id}/replay`);
    assert.equal(replay.status, 202);
    assert.ok(replay.body.deadLetter.replayedAt);
    await waitFor(async () => (await taskStatus(t.body.id)) === 'succeeded', 10_000, 'the replayed task to succeed');
    const again = await admin('POST', `/v1/dead-letters/${letter.id}/replay`);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'invalid_state');
    const events = await h.runtime.prisma.notificationEvent.findMany({
      where: { subjectId: t.body.id },
      orderBy: { createdAt: 'asc' },
    });
    assert.deepEqual(
      events.map((e) => (e.payload as { status: string }).status),
      ['failed', 'succeeded'],
      'one completion per generation',
    );
    assert.equal((await admin('POST', '/v1/dead-letters/dlq_00000000000000000000000000/replay')).status, 404);
  });

  test('history past its retention is purged', async () => {
    const t = await submit(a, { handler: 'noop' });
    await waitFor(async () => (await taskStatus(t.body.id)) === 'succeeded', 10_000, 'the task');
    await h.runtime.prisma.task.update({
      where: { id: t.body.id },
      data: { finishedAt: new Date(Date.now() - 2 * 86_400_000) },
    });
    await h.runtime.producer.add('maintenance.purge', {}, { jobId: `purge-${Date.now()}` });
    await waitFor(
      async () => (await h.runtime.prisma.task.count({ where: { id: t.body.id } })) === 0,
      10_000,
      'the purge',
    );
    assert.ok((await h.runtime.prisma.task.count({ where: { tenantId: a.tenantId } })) > 0, 'recent history stays');
  });
});
