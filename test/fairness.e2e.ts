import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { INestApplicationContext } from '@nestjs/common';
import { startSimulator, type RunningSimulator } from '@baton/cluster';
import { loadConfig } from '@baton/config';
import { QUEUES } from '@baton/contracts';
import { createLogger } from '@baton/observability';
import { createRuntime, type Runtime } from '@baton/runtime';
import { startWorker } from '../apps/worker/src/worker.bootstrap';
import { appEnv, startBaton, waitFor, type Harness } from './support/harness';
import { image, startGpu, waitTerminal } from './support/inference';

/**
 * Fair sharing between tenants, scaled down: two worker processes' worth of workers (the harness's and a second
 * runtime with its own connections) of TASK_CONCURRENCY 4 each, so the tasks window is 32 (four times their concurrency).
 */
const CONCURRENCY = 4;
const WORKERS = 2;

let h: Harness;
let second: { runtime: Runtime; worker: INestApplicationContext };
let sim: RunningSimulator;

before(async () => {
  sim = await startSimulator({
    seed: 3,
    queueMs: 5,
    runMs: 150,
    failRate: 0,
    stuckRate: 0,
    burst429Rate: 0,
    errorRate: 0,
    callbacks: null,
  });
  const env = {
    TASK_CONCURRENCY: String(CONCURRENCY),
    CLUSTER_URL: sim.url,
    CLUSTER_MAX_IN_FLIGHT: '10',
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  };
  h = await startBaton(env);
  const config = loadConfig(appEnv(h, { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', ...env }));
  const runtime = await createRuntime(config, {
    name: 'second-worker',
    migrate: false,
    logger: createLogger({ level: config.LOG_LEVEL, name: 'second-worker' }),
  });
  second = { runtime, worker: await startWorker(runtime) };
});
after(async () => {
  await second.worker.close().catch(() => undefined);
  await second.runtime.close().catch(() => undefined);
  await h.close();
  await sim.close();
});

/** Posts `n` sleep tasks for a tenant, 32 at a time; returns their ids in order. */
async function postTasks(key: string, n: number, ms: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = new Array<string>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) {
        const i = next++;
        // A loaded machine may answer 503 overloaded (retryable): a client tries again, as this one does.
        let r = await h.request('POST', '/v1/tasks', { key, body: { handler: 'sleep', payload: { ms }, ...extra } });
        for (let tries = 0; r.status === 503 && tries < 20; tries++) {
          await new Promise((res) => setTimeout(res, 200));
          r = await h.request('POST', '/v1/tasks', { key, body: { handler: 'sleep', payload: { ms }, ...extra } });
        }
        assert.equal(r.status, 202, JSON.stringify(r.body));
        ids[i] = r.body.id;
      }
    }),
  );
  return ids;
}

async function succeeded(tenantId: string): Promise<number> {
  return h.runtime.prisma.task.count({ where: { tenantId, status: 'succeeded' } });
}

const putLimits = (tenantId: string, body: unknown, key = h.adminKey) =>
  h.request('PUT', `/v1/tenants/${tenantId}/limits`, { key, body });

/** Active task jobs per tenant right now, as BullMQ holds them (what workers really run). */
async function activeByTenant(): Promise<Record<string, number>> {
  const jobs = await h.runtime.producer.queue(QUEUES.tasks).getJobs(['active'], 0, -1);
  const out: Record<string, number> = {};
  for (const j of jobs) out[j.data.tenantId] = (out[j.data.tenantId] ?? 0) + 1;
  return out;
}

describe('fair sharing between tenants', () => {
  test("a small tenant's work finishes within its share, not after a big tenant's backlog", async () => {
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    const aIds = await postTasks(a.key, 400, 20); // 400 × 20 ms over 8 slots: about a second of backlog
    const bStart = Date.now();
    const bIds = await postTasks(b.key, 8, 20);
    const bDone = await waitFor(
      async () => ((await succeeded(b.tenantId)) === bIds.length ? Date.now() : undefined),
      30_000,
      "B's tasks",
    );
    const aDoneWhenBDone = await succeeded(a.tenantId);
    // Equal weights: B gets half the capacity while both wait, so its 8 tasks need about 8 × 20 ms / 4 slots; the
    // bound leaves room for a loaded machine but stays far below A's backlog.
    assert.ok(aDoneWhenBDone < aIds.length / 2, `A had finished ${aDoneWhenBDone} of ${aIds.length} when B finished`);
    assert.ok(bDone - bStart < 2_000, `B took ${bDone - bStart} ms`);
    await waitFor(async () => (await succeeded(a.tenantId)) === aIds.length, 60_000, "A's tasks");
  });

  test('weights 3:1 split the throughput 3:1 while both saturate; alone, a tenant gets all of it', async () => {
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    assert.equal((await putLimits(a.tenantId, { weight: 3 })).status, 200);

    // Alone: A's tasks fill every worker slot.
    const aloneIds = await postTasks(a.key, 120, 30);
    let fullest = 0;
    await waitFor(
      async () => {
        fullest = Math.max(fullest, (await activeByTenant())[a.tenantId] ?? 0);
        return (await succeeded(a.tenantId)) === aloneIds.length;
      },
      30_000,
      "A's tasks alone",
    );
    assert.equal(fullest, CONCURRENCY * WORKERS, 'a tenant alone uses every slot');

    // Both saturating: measure the split between two instants, once both are well under way.
    await Promise.all([postTasks(a.key, 900, 10), postTasks(b.key, 900, 10)]);
    const count = async () => ({ a: (await succeeded(a.tenantId)) - aloneIds.length, b: await succeeded(b.tenantId) });
    const from = await waitFor(async () => {
      const c = await count();
      return c.a + c.b >= 100 ? c : undefined;
    }, 30_000);
    const to = await waitFor(async () => {
      const c = await count();
      return c.a + c.b >= from.a + from.b + 600 ? c : undefined;
    }, 60_000);
    const ratio = (to.a - from.a) / (to.b - from.b);
    assert.ok(ratio >= 2.7 && ratio <= 3.3, `A:B = ${to.a - from.a}:${to.b - from.b} = ${ratio.toFixed(2)}`);

    // The queue view shows both tenants' shares.
    const queues = await h.request('GET', '/v1/queues', { key: h.adminKey });
    const tasks = queues.body.data.find((q: { name: string }) => q.name === 'tasks');
    const shares = Object.fromEntries(tasks.tenants.map((t: { tenantId: string }) => [t.tenantId, t]));
    assert.ok(shares[a.tenantId] && shares[b.tenantId], JSON.stringify(tasks.tenants));
    assert.ok(shares[a.tenantId].inFlight <= CONCURRENCY * WORKERS * 4, 'within the tasks window');
    await waitFor(async () => (await succeeded(b.tenantId)) === 900, 60_000, "B's tasks");
    await waitFor(async () => (await succeeded(a.tenantId)) === 1020, 60_000, "A's tasks");
  });

  test("a tenant's maxInFlight holds across two workers, sampled throughout; a low priority is not starved", async () => {
    const c = await h.tenant('member');
    assert.equal((await putLimits(c.tenantId, { queues: { tasks: { maxInFlight: 3 } } })).status, 200);
    const low = await postTasks(c.key, 1, 40, { priority: 10 });
    const ids = await postTasks(c.key, 40, 40, { priority: 1 });
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        most = Math.max(most, (await activeByTenant())[c.tenantId] ?? 0);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await waitFor(async () => (await succeeded(c.tenantId)) === ids.length + 1, 60_000, "C's tasks");
    sampling = false;
    await sampler;
    assert.equal(most, 3, `C ran at most ${most} at once`);
    // FAIR_AGING_MS (30 s) of waiting is worth a level; this low-priority task was admitted once the urgent ones were.
    const lowTask = await h.request('GET', `/v1/tasks/${low[0]}`, { key: c.key });
    assert.equal(lowTask.body.status, 'succeeded');
  });

  test('batch items share the cluster: a small batch is not stuck behind a big one', async () => {
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    const big = await h.request('POST', '/v1/batches', { key: a.key, body: { items: items(300) } });
    assert.equal(big.status, 202);
    await waitFor(
      async () => (await h.request('GET', `/v1/batches/${big.body.id}`, { key: a.key })).body.counts.running > 0,
    );
    const small = await h.request('POST', '/v1/batches', { key: b.key, body: { items: items(10) } });
    assert.equal(small.status, 202);
    const smallDone = await waitFor(
      async () => {
        const r = await h.request('GET', `/v1/batches/${small.body.id}`, { key: b.key });
        return r.body.outcome ? r.body : undefined;
      },
      60_000,
      'the small batch',
    );
    assert.equal(smallDone.outcome, 'all_succeeded');
    const bigNow = (await h.request('GET', `/v1/batches/${big.body.id}`, { key: a.key })).body;
    // 300 items through 10 cluster slots of ~150 ms take several seconds; B's 10 items were admitted beside them.
    assert.ok(bigNow.counts.succeeded < 200, `the big batch had ${bigNow.counts.succeeded} done already`);
    await waitFor(
      async () => (await h.request('GET', `/v1/batches/${big.body.id}`, { key: a.key })).body.outcome,
      120_000,
      'the big batch',
    );
  });

  test('inference items share the GPU worker: a small job is not stuck behind a big one', async () => {
    const a = await h.tenant('member');
    const b = await h.tenant('member');
    const gpu = await startGpu(h);
    try {
      const job = (key: string, n: number) =>
        h.request('POST', '/v1/inference/jobs', {
          key,
          body: { model: 'text-direction', inputs: Array.from({ length: n }, (_, i) => image(i % 9, 60, 20)) },
        });
      const big = await job(a.key, 1500);
      assert.equal(big.status, 202, JSON.stringify(big.body));
      const small = await job(b.key, 10);
      assert.equal(small.status, 202);
      const done = await waitTerminal(h, b.key, small.body.id, 120_000);
      assert.equal(done.status, 'succeeded');
      const bigNow = (await h.request('GET', `/v1/inference/jobs/${big.body.id}`, { key: a.key })).body;
      assert.ok(bigNow.counts.succeeded < 1200, `the big job had ${bigNow.counts.succeeded} of 1500 done already`);
      await waitTerminal(h, a.key, big.body.id, 240_000);
    } finally {
      await gpu.close();
    }
  });

  test('limits API: admin only, checked, defaults filled in', async () => {
    const t = await h.tenant('member');
    const got = await h.request('GET', `/v1/tenants/${t.tenantId}/limits`, { key: h.adminKey });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.own, {});
    assert.deepEqual(got.body.effective, {
      weight: 1,
      queues: {
        tasks: { maxInFlight: 0, ratePerSecond: 0 },
        cluster: { maxInFlight: 0, ratePerSecond: 0 },
        inference: { maxInFlight: 0, ratePerSecond: 0 },
      },
    });
    const put = await putLimits(t.tenantId, { weight: 2.5, queues: { cluster: { ratePerSecond: 5 } } });
    assert.equal(put.status, 200);
    assert.equal(put.body.effective.weight, 2.5);
    assert.deepEqual(put.body.effective.queues.cluster, { maxInFlight: 0, ratePerSecond: 5 });
    assert.deepEqual((await h.request('GET', `/v1/tenants/${t.tenantId}/limits`, { key: h.adminKey })).body.own, {
      weight: 2.5,
      queues: { cluster: { ratePerSecond: 5 } },
    });

    const bad = await putLimits(t.tenantId, {
      weight: 0,
      colour: 'red',
      queues: { tasks: { maxInFlight: 1.5 }, gpu: {} },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'validation_failed');
    const fields = bad.body.error.details.map((d: { field: string }) => d.field).sort();
    assert.deepEqual(fields, ['colour', 'queues.gpu', 'queues.tasks.maxInFlight', 'weight']);
    assert.equal((await putLimits(t.tenantId, [1])).status, 400);
    assert.equal((await putLimits('ten_doesnotexist', { weight: 1 })).status, 404);
    assert.equal((await putLimits(t.tenantId, { weight: 1 }, t.key)).status, 403);
  });
});
