import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { signClusterCallback, startSimulator, type RunningSimulator } from '@baton/cluster';
import { BatchReconciler } from '@baton/batches';
import { QUEUES } from '@baton/contracts';
import { dropPrefix, startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';

const SECRET = 'cluster-callback-secret';
const FAST = { queueMs: 10, runMs: 20, failRate: 0, stuckRate: 0, burst429Rate: 0, errorRate: 0, callbacks: null };
/** Short checks, so tests run in seconds. */
const quick = (extra: Record<string, unknown> = {}) => ({ backoff: { baseMs: 50, maxMs: 200 }, ...extra });

let h: Harness;
let sim: RunningSimulator;
let key: string;

before(async () => {
  sim = await startSimulator({ seed: 7, ...FAST });
  h = await startBaton({
    CLUSTER_URL: sim.url,
    CLUSTER_CALLBACK_SECRET: SECRET,
    CLUSTER_CONCURRENCY: '50',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
  });
  key = (await h.tenant('member')).key;
});
after(async () => {
  await h.close();
  await sim.close();
});
beforeEach(() => {
  sim.configure(FAST);
});

const submit = (body: unknown, k = key) => h.request('POST', '/v1/batches', { key: k, body });
const get = (id: string, k = key) => h.request('GET', `/v1/batches/${id}`, { key: k });
const items = (n: number, f: (i: number) => Record<string, unknown> = (i) => ({ i })) =>
  Array.from({ length: n }, (_, i) => f(i));
const until = (id: string, timeoutMs = 30_000) =>
  waitFor(
    async () => {
      const r = await get(id);
      return r.body.outcome ? r.body : undefined;
    },
    timeoutMs,
    `batch ${id} to finish`,
  );
/** A batch reconciler on the harness's runtime, run by hand instead of on its schedule. */
const batchReconciler = () =>
  new BatchReconciler(
    h.runtime.stores.batches,
    h.runtime.batchQueue,
    { batches: h.runtime.producer.queue(QUEUES.batches), cluster: h.runtime.producer.queue(QUEUES.cluster) },
    h.runtime.log,
  );
const allJobs = async (id: string, status?: string) => {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const q: URLSearchParams = new URLSearchParams({
      limit: '1000',
      ...(status ? { status } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const r: { status: number; body: any } = await h.request('GET', `/v1/batches/${id}/jobs?${q.toString()}`, { key });
    assert.equal(r.status, 200);
    out.push(...r.body.data);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
};
const events = (id: string) =>
  h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: id, type: 'batch.completed' } });
const addsUp = (c: any) =>
  assert.equal(c.queued + c.running + c.succeeded + c.failed + c.cancelled, c.total, JSON.stringify(c));

describe('batches on the cluster', () => {
  test('a batch runs every item once and completes with one event', async () => {
    const before = sim.stats().jobsCreated;
    const r = await submit({ items: items(200), name: 'nightly', policy: quick() });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.match(r.body.id, /^bat_/);
    assert.equal(r.body.status, 'queued');
    assert.deepEqual(r.body.counts, { total: 200, queued: 200, running: 0, succeeded: 0, failed: 0, cancelled: 0 });
    const done = await until(r.body.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.outcome, 'all_succeeded');
    assert.equal(done.counts.succeeded, 200);
    assert.equal(done.name, 'nightly');
    assert.ok(done.startedAt && done.finishedAt);
    assert.equal(sim.stats().jobsCreated - before, 200);
    const jobs = await allJobs(r.body.id);
    assert.deepEqual(
      jobs.map((j) => j.index),
      items(200).map((_, i) => i),
    );
    assert.ok(jobs.every((j) => j.status === 'succeeded' && j.attempts === 1 && j.clusterJobId));
    const ev = await events(r.body.id);
    assert.equal(ev.length, 1);
    assert.equal((ev[0].payload as any).outcome, 'all_succeeded');
  });

  test("a batch's notify webhook gets its completion, signed, once", async () => {
    const { startReceiver } = await import('./support/receiver');
    const { Webhook } = await import('standardwebhooks');
    const receiver = await startReceiver(() => ({ status: 200 }));
    try {
      const r = await submit({
        items: items(3),
        policy: quick(),
        notify: { webhook: { url: `${receiver.url}/hook` } },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.match(r.body.webhookSecret, /^whsec_/);
      await until(r.body.id);
      const hit = await waitFor(() => Promise.resolve(receiver.hitsOn('/hook')[0]), 30_000, 'delivery');
      const payload = new Webhook(r.body.webhookSecret).verify(hit.body, hit.headers as Record<string, string>) as any;
      assert.equal(payload.type, 'batch.completed');
      assert.equal(payload.data.id, r.body.id);
      assert.equal(payload.data.outcome, 'all_succeeded');
      assert.ok(!JSON.stringify(payload).includes('whsec_'), 'no secret in the event');
    } finally {
      await receiver.close();
    }
  });

  test('FAILED runs are re-run up to maxAttempts, then the job fails with its last error; retry-failed reopens', async () => {
    sim.configure({ failRate: 1 });
    const tokens = sim.stats().distinctClientTokens;
    const r = await submit({ items: items(10), policy: quick({ maxAttempts: 2 }) });
    const done = await until(r.body.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.outcome, 'all_failed');
    assert.equal(sim.stats().distinctClientTokens - tokens, 20, 'one new client token per run');
    const failed = await allJobs(r.body.id, 'failed');
    assert.equal(failed.length, 10);
    assert.equal(failed[0].lastError.code, 'cluster_failed');
    assert.equal(failed[0].attempts, 2);
    assert.deepEqual(await allJobs(r.body.id, 'succeeded'), []);

    sim.configure({ failRate: 0 });
    const again = await h.request('POST', `/v1/batches/${r.body.id}/retry-failed`, { key });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.status, 'running');
    assert.equal(again.body.counts.queued, 10);
    const redone = await until(r.body.id);
    assert.equal(redone.outcome, 'all_succeeded');
    assert.equal(redone.generation, 1);
    assert.equal((await events(r.body.id)).length, 2, 'one completion per generation');
    const noMore = await h.request('POST', `/v1/batches/${r.body.id}/retry-failed`, { key });
    assert.equal(noMore.status, 409);
  });

  test('some items fail for good: the batch ends failed with outcome partial, counts adding up', async () => {
    sim.configure({ failRate: 0.5 });
    const r = await submit({ items: items(60), policy: quick({ maxAttempts: 1 }) });
    const done = await until(r.body.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.outcome, 'partial');
    addsUp(done.counts);
    assert.ok(done.counts.failed > 0 && done.counts.succeeded > 0);
    assert.equal((await allJobs(r.body.id, 'failed')).length, done.counts.failed);
  });

  test('stuck runs are cancelled on the cluster and count as failed runs', async () => {
    sim.configure({ stuckRate: 1, stuckIn: 'RUNNING' });
    const cancels = sim.stats().cancelsReceived;
    const r = await submit({
      items: items(5),
      policy: quick({ maxAttempts: 2, stuckAfterMs: { submitted: 2000, running: 1000 } }),
    });
    const done = await until(r.body.id);
    assert.equal(done.outcome, 'all_failed');
    const failed = await allJobs(r.body.id, 'failed');
    assert.equal(failed[0].lastError.code, 'stuck_running');
    assert.equal(sim.stats().cancelsReceived - cancels, 10, 'each stuck run cancelled on the cluster');
  });

  test('jobTimeoutMs fails a run that takes too long', async () => {
    sim.configure({ queueMs: 10, runMs: 10_000 });
    const r = await submit({ items: items(3), policy: quick({ maxAttempts: 1, jobTimeoutMs: 1000 }) });
    const done = await until(r.body.id);
    assert.equal(done.outcome, 'all_failed');
    assert.equal((await allJobs(r.body.id, 'failed'))[0].lastError.code, 'timeout');
  });

  test('failFast cancels the rest after the first failure', async () => {
    sim.configure({ runMs: { min: 200, max: 3000 }, failRate: 0.3 });
    const r = await submit({ items: items(40), policy: quick({ maxAttempts: 1, failFast: true }) });
    const done = await until(r.body.id);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.outcome, 'cancelled');
    addsUp(done.counts);
    assert.ok(done.counts.failed >= 1 && done.counts.cancelled >= 1, JSON.stringify(done.counts));
  });

  test('cancel reaches running cluster jobs; the batch ends cancelled long before the runs would', async () => {
    sim.configure({ queueMs: 10, runMs: 20_000 });
    const applied = sim.stats().cancelsApplied;
    const r = await submit({ items: items(30), policy: { backoff: { baseMs: 5000, maxMs: 60000 } } });
    await waitFor(async () => (await get(r.body.id)).body.counts.running === 30, 10_000, 'all running');
    const started = Date.now();
    const c = await h.request('POST', `/v1/batches/${r.body.id}/cancel`, { key });
    assert.equal(c.status, 202);
    const done = await until(r.body.id, 15_000);
    assert.ok(Date.now() - started < 5000, 'cancel woke the waiting steps');
    assert.equal(done.status, 'cancelled');
    assert.equal(done.counts.cancelled, 30);
    assert.equal(sim.stats().cancelsApplied - applied, 30);
  });

  test('cancelling one job cancels only that job', async () => {
    sim.configure({ queueMs: 10, runMs: 1500 });
    const r = await submit({ items: items(5), policy: quick() });
    const jobs = await allJobs(r.body.id);
    const c = await h.request('POST', `/v1/batches/${r.body.id}/jobs/${jobs[2].id}/cancel`, { key });
    assert.equal(c.status, 202, JSON.stringify(c.body));
    const done = await until(r.body.id);
    assert.equal(done.counts.cancelled, 1);
    assert.equal(done.counts.succeeded, 4);
    assert.equal((await allJobs(r.body.id, 'cancelled'))[0].index, 2);
  });

  test('dedupe drops items whose params equal an earlier one', async () => {
    const r = await submit({ items: [{ a: 1, b: 2 }, { b: 2, a: 1 }, { a: 2 }], dedupe: true, policy: quick() });
    assert.equal(r.status, 202);
    assert.equal(r.body.counts.total, 2);
    assert.equal(r.body.dropped, 1);
    const jobs = await allJobs(r.body.id);
    assert.deepEqual(
      jobs.map((j) => j.index),
      [0, 2],
    );
    assert.equal((await until(r.body.id)).counts.succeeded, 2);
  });

  test('cluster 429s and 5xx slow things down but lose nothing', async () => {
    sim.configure({ burst429Rate: 0.2, retryAfterSec: 1, errorRate: 0.1 });
    const s0 = sim.stats();
    const r = await submit({ items: items(50), policy: quick() });
    const done = await until(r.body.id, 60_000);
    assert.equal(done.outcome, 'all_succeeded');
    const s1 = sim.stats();
    assert.ok(s1.sent429 > s0.sent429 && s1.sent5xx > s0.sent5xx);
    assert.equal(s1.jobsCreated - s0.jobsCreated, 50, 'retried submits never started a second job');
  });

  test('callbacks short-cut the wait; unsigned or badly signed callbacks get 401', async () => {
    sim.configure({ callbacks: { url: `${h.url}/v1/cluster/callbacks`, secret: SECRET } });
    const r = await submit({ items: items(20), policy: { backoff: { baseMs: 120_000, maxMs: 120_000 } } });
    const started = Date.now();
    const done = await until(r.body.id, 45_000);
    assert.equal(done.outcome, 'all_succeeded');
    // Without callbacks each item's first check would come at a random point of 2 minutes: all 20 within 40 s has a
    // chance of (1/3)^20.
    assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
    assert.ok(sim.stats().callbacksSent >= 20);

    const body = JSON.stringify({ jobUuid: 'nope', status: 'SUCCEEDED' });
    const unsigned = await h.request('POST', '/v1/cluster/callbacks', { raw: body });
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.body.error.code, 'unauthenticated');
    const forged = await h.request('POST', '/v1/cluster/callbacks', {
      raw: body,
      headers: { 'x-cluster-signature': signClusterCallback(body, 'wrong') },
    });
    assert.equal(forged.status, 401);
    const signed = await h.request('POST', '/v1/cluster/callbacks', {
      raw: body,
      headers: { 'x-cluster-signature': signClusterCallback(body, SECRET) },
    });
    assert.equal(signed.status, 202);
  });

  test('Redis losing every batch key mid-flight: the reconciler re-feeds the batch and it completes', async () => {
    sim.configure({ queueMs: 10, runMs: 1500 });
    const r = await submit({ items: items(40), policy: quick() });
    await waitFor(async () => (await get(r.body.id)).body.counts.running > 0, 10_000, 'items running');
    // Redis comes back empty (a restart without persistence, a failover to an empty replica) while the worker is
    // reconnecting. A flush under a worker that keeps stepping the very same jobs is not covered yet (see the note).
    await h.stopWorker();
    await dropPrefix(TEST_REDIS_URL, h.prefix);
    await h.startWorker();
    const { runtime } = h;
    const reconciler = batchReconciler();
    const report = await reconciler.run(0);
    assert.ok(report.refed >= 1, JSON.stringify(report));
    const done = await until(r.body.id, 60_000).catch(async (error: unknown) => {
      const counts = async (q: string) => JSON.stringify(await runtime.producer.queue(q as never).getJobCounts());
      const b = (await get(r.body.id)).body;
      throw new Error(
        `${String(error)}; batch ${JSON.stringify(b.counts)} ${b.status}; report ${JSON.stringify(report)}; ` +
          `cluster ${await counts('cluster')}; batches ${await counts('batches')}; seal ${await counts('batch-seal')}`,
      );
    });
    assert.equal(done.outcome, 'all_succeeded');
    assert.equal(done.counts.succeeded, 40);
    assert.equal((await events(r.body.id)).length, 1);
    assert.equal((await reconciler.run(0)).refed, 0, 'nothing left to repair');
  });

  test('a batch whose items all ended but whose roll-up never wrote its outcome is rolled up by the reconciler, once', async () => {
    const r = await submit({ items: items(5), policy: quick() });
    const done = await until(r.body.id);
    assert.equal(done.outcome, 'all_succeeded');
    // As if the parent had ended without writing the outcome (or were lost while every item was finishing): the row
    // as it stands before its roll-up.
    await h.runtime.prisma.$executeRaw`
      UPDATE batches SET status = 'running', outcome = NULL, finished_at = NULL WHERE id = ${r.body.id}`;
    const reconciler = batchReconciler();
    const report = await reconciler.run(0);
    assert.equal(report.rollupsRetried, 1, JSON.stringify(report));
    assert.equal(report.refed, 0, JSON.stringify(report));
    const again = (await get(r.body.id)).body;
    assert.equal(again.outcome, 'all_succeeded');
    assert.equal(again.status, 'succeeded');
    assert.equal((await events(r.body.id)).length, 1, 'still one completion event');
    assert.equal((await reconciler.run(0)).rollupsRetried, 0, 'nothing left to roll up');
  });

  test('Redis flushed under a worker that keeps stepping the items: repaired, completes, no second cluster job', async (t) => {
    sim.configure({ queueMs: 10, runMs: { min: 500, max: 2500 } });
    const ITEMS = 120;
    const before = sim.stats().jobsCreated;
    const r = await submit({ items: items(ITEMS), policy: quick({ backoff: { baseMs: 100, maxMs: 400 } }) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor(async () => (await get(r.body.id)).body.counts.running >= 20, 20_000, 'items running');
    // The worker keeps running: its active steps find their jobs gone (or re-added under them) mid-step, and scripts
    // that write a job's fields after its hash was deleted leave ghosts (hashes without a name) that BullMQ takes for
    // the job when the feeder re-adds it. The reconciler and the roll-up put such items back.
    await dropPrefix(TEST_REDIS_URL, h.prefix);
    const { runtime } = h;
    const reconciler = batchReconciler();
    const reports: unknown[] = [];
    const audits: unknown[] = [];
    // What the worker's maintenance job does each RECONCILE_INTERVAL_MS (a minute here, longer than this test waits):
    // the batch reconciler, then the fair dispatcher's audit, which puts back in its lane an item the feeder re-added
    // parked whose lane entry the flush took, and lets run one admitted but left parked.
    const done = await waitFor(
      async () => {
        const b = (await get(r.body.id)).body;
        if (b.outcome) return b;
        reports.push(await reconciler.run(0));
        audits.push(await runtime.fair.cluster!.audit());
        await new Promise((resolve) => setTimeout(resolve, 500));
        return undefined;
      },
      // Repair can take over a minute: steps that were active at the flush hold their locks until they lapse
      // (CLUSTER_LOCK_MS, 30 s), and a roll-up that finds items still open looks again before it re-adds them.
      120_000,
      `batch ${r.body.id} to finish after the flush`,
    ).catch(async (error: unknown) => {
      const counts = async (q: string) => JSON.stringify(await runtime.producer.queue(q as never).getJobCounts());
      const b = (await get(r.body.id)).body;
      const cluster = runtime.producer.queue(QUEUES.cluster);
      const open = [...(await allJobs(r.body.id, 'queued')), ...(await allJobs(r.body.id, 'running'))];
      const states = await Promise.all(
        open.map(async (j) => {
          const job = await cluster.getJob(`${j.id}-g0`);
          const [held] = await runtime.fair.cluster!.holds([`${j.id}-g0`]);
          const due = job ? `due in ${job.timestamp + (job.delay ?? 0) - Date.now()} ms` : 'no job';
          return `${j.index}: ${await cluster.getJobState(`${j.id}-g0`)} ${due} fair-held ${held} ${job?.failedReason ?? ''}`;
        }),
      );
      throw new Error(
        `${String(error)}; open items ${states.join(' | ')}; ` +
          `batch ${JSON.stringify(b.counts)} ${b.status}; reports ${JSON.stringify(reports.slice(-3))}; ` +
          `audits ${JSON.stringify(audits.slice(-3))}; ` +
          `cluster ${await counts('cluster')}; batches ${await counts('batches')}; seal ${await counts('batch-seal')}`,
      );
    });
    t.diagnostic(
      `reconciler: ${JSON.stringify(reports.filter((x: any) => x.refed + x.itemsRepaired + x.rollupsRetried > 0))}`,
    );
    assert.equal(done.outcome, 'all_succeeded', JSON.stringify(done.counts));
    assert.equal(done.counts.succeeded, ITEMS);
    assert.equal((await events(r.body.id)).length, 1);
    // One cluster job per attempt Postgres recorded (the simulator dedupes by client token, so a repeated step with
    // the same token shows nowhere; a second *attempt* would show as a job more than the attempts counted).
    const jobs = await allJobs(r.body.id);
    const attempts = jobs.reduce((n, j) => n + j.attempts, 0);
    assert.equal(attempts, ITEMS, 'no item needed a second run');
    assert.equal(sim.stats().jobsCreated - before, attempts, 'one cluster job per recorded attempt');
    const last = await reconciler.run(0);
    assert.deepEqual([last.refed, last.itemsRepaired], [0, 0], 'nothing left to repair');
  });

  test('the roll-up is exactly once: running it concurrently again writes no second event', async () => {
    const r = await submit({ items: items(3), policy: quick() });
    await until(r.body.id);
    const store = h.runtime.stores.batches;
    const results = await Promise.all(Array.from({ length: 8 }, () => store.rollup(r.body.id, 0)));
    assert.ok(results.every((x) => x && !x.completed));
    assert.equal((await events(r.body.id)).length, 1);
  });
});

describe('batch input and access', () => {
  const count = async () => ({
    batches: await h.runtime.prisma.batch.count(),
    jobs: await h.runtime.prisma.batchJob.count(),
  });

  test('bad input gets its documented error and leaves no rows behind', async () => {
    const before = await count();
    const cases: [unknown, string][] = [
      [{ items: [] }, 'items'],
      [{ items: Array.from({ length: 100_001 }, () => ({})) }, 'items'],
      [{ items: [{ a: 1 }, 5] }, 'items[1]'],
      [{ items: [{ a: 1 }], policy: { retries: 3 } }, 'policy.retries'],
      [{ items: [{ a: 1 }], policy: { backoff: { base: 1 } } }, 'policy.backoff.base'],
      [{ items: [{ a: 1 }], policy: { maxAttempts: 0 } }, 'policy.maxAttempts'],
      [{ items: [{ a: 1 }], policy: { maxAttempts: 21 } }, 'policy.maxAttempts'],
      [{ items: [{ a: 1 }], priority: 11 }, 'priority'],
      [{ items: [{ a: 1 }], colour: 'red' }, 'colour'],
      [{ items: [{ a: 1 }], notify: { webhook: { url: 'ftp://x' } } }, 'notify.webhook.url'],
      [{ items: [{ a: 1 }], notify: { email: ['not-an-address'] } }, 'notify.email[0]'],
      [[{ a: 1 }], 'body'],
    ];
    for (const [body, field] of cases) {
      const r = await submit(body);
      assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.ok(
        r.body.error.details.some((d: any) => d.field === field),
        `${field} named in ${JSON.stringify(r.body.error.details)}`,
      );
    }
    const malformed = await h.request('POST', '/v1/batches', { key, raw: '{"items": [' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'malformed_json');
    assert.deepEqual(await count(), before);
  });

  test('another tenant sees 404; a viewer cannot submit; Idempotency-Key replays the same batch', async () => {
    const r = await submit({ items: items(2), policy: quick() });
    const other = await h.tenant('member');
    assert.equal((await get(r.body.id, other.key)).status, 404);
    assert.equal((await h.request('POST', `/v1/batches/${r.body.id}/cancel`, { key: other.key })).status, 404);
    assert.equal((await h.request('GET', `/v1/batches/${r.body.id}/jobs`, { key: other.key })).status, 404);
    assert.equal((await get('bat_nope')).status, 404);
    const viewer = await h.tenant('viewer');
    assert.equal((await submit({ items: items(1) }, viewer.key)).status, 403);
    const body = { items: items(3), policy: quick() };
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const [a, b] = await Promise.all([
      h.request('POST', '/v1/batches', { key, body, headers }),
      h.request('POST', '/v1/batches', { key, body, headers }),
    ]);
    const statuses = [a.status, b.status].sort();
    assert.ok(statuses[0] === 202 && (statuses[1] === 202 || statuses[1] === 409), statuses.join());
    const again = await h.request('POST', '/v1/batches', { key, body, headers });
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, a.status === 202 ? a.body.id : b.body.id);
    const bad = await h.request('GET', `/v1/batches/${r.body.id}/jobs?status=weird`, { key });
    assert.equal(bad.status, 400);
  });
});

describe('submission rate', () => {
  let h2: Harness;
  let sim2: RunningSimulator;
  before(async () => {
    sim2 = await startSimulator({ seed: 3, queueMs: 0, runMs: 0 });
    h2 = await startBaton({ CLUSTER_URL: sim2.url, CLUSTER_SUBMIT_RATE: '20', CLUSTER_CONCURRENCY: '50' });
  });
  after(async () => {
    await h2.close();
    await sim2.close();
  });

  test('a configured global submission rate is never exceeded', async () => {
    const k = (await h2.tenant('member')).key;
    const started = Date.now();
    const r = await h2.request('POST', '/v1/batches', { key: k, body: { items: items(60), policy: quick() } });
    await waitFor(
      async () => (await h2.request('GET', `/v1/batches/${r.body.id}`, { key: k })).body.outcome,
      30_000,
      'rate-limited batch',
    );
    const stats = sim2.stats();
    assert.equal(stats.jobsCreated, 60);
    assert.ok(stats.maxSubmissionsPerSecond <= 20, `max ${stats.maxSubmissionsPerSecond}/s`);
    assert.ok(Date.now() - started >= 2500, '60 submissions at 20/s take about 3 s');
  });
});
