// `npm run bench:batches`: a batch on the external cluster end to end, beside raw BullMQ, on the same Redis in one run.
//
//   (a) raw BullMQ: N no-op jobs added with addBulk, then one Worker (concurrency C) in this process runs them; jobs/s
//       from the first addBulk to the last job completed.
//   (b) Baton as deployed (an API process and a worker process) against the cluster simulator in this process at zero
//       latency (queueMs 0, runMs 0, no faults): one `POST /v1/batches` with N items, timed to its 202, then
//       `GET /v1/batches/:id` polled until the batch is terminal; items/s from the POST to the terminal status. The
//       batch's policy asks for a 50 ms backoff base, so an item's first status check is not a default second away.
//   (c) the 202 of one `POST /v1/batches` with 100,000 items (the largest request the API accepts), on the same
//       deployment; that batch is cancelled straight away, as only its acceptance is measured.
// Prints both rates and the ratio b/a (target: at least 0.5).
// Settings: BENCH_N (default 50000), BENCH_CONCURRENCY (the raw Worker's concurrency, default 32),
// BENCH_CLUSTER_CONCURRENCY (passed to Baton as CLUSTER_CONCURRENCY when set; Baton's default otherwise),
// BENCH_BIG_N (default 100000), BENCH_CALLBACKS=1 (the simulator sends signed completion callbacks to Baton),
// DATABASE_POOL_SIZE (passed to Baton when set). Exits non-zero only when something failed.
import { randomBytes } from 'node:crypto';
import { availableParallelism as availableCpus, loadavg } from 'node:os';
import IORedis, { type Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { startSimulator, type RunningSimulator } from '@baton/cluster';
import { dropPrefix, rand, TEST_REDIS_URL } from '../test/support/harness';
import { cpuNow, cpuPerUnit, formatCpu, type CpuParts } from './cpu';
import { asProcesses, tenantKey, type Deployment } from './deployment';
import { intFromEnv, pollUntil, QUIET_CLUSTER, round, stopwatch, summarize, table } from './support';

const N = intFromEnv('BENCH_N', 50_000);
const BIG_N = intFromEnv('BENCH_BIG_N', 100_000);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 32);
const CLUSTER_CONCURRENCY = process.env.BENCH_CLUSTER_CONCURRENCY
  ? String(intFromEnv('BENCH_CLUSTER_CONCURRENCY', 1))
  : undefined;
const CALLBACKS = process.env.BENCH_CALLBACKS === '1';
const TARGET_RATIO = 0.5;
/** A run that makes no progress for this long has failed, rather than hanging forever. */
const STALLED_MS = 60_000;
/** The same retention Baton's task jobs use, so raw BullMQ does not pay for keeping N completed jobs. */
const RAW_JOB_OPTIONS = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };
const ADD_BULK_CHUNK = 5_000;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];
const TIMELINE_MS = 5_000;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

interface RawResult {
  jobsPerSecond: number;
  elapsedMs: number;
  addMs: number;
  completed: number;
  /** Ms of CPU per job by part (cpu.ts), from the first addBulk to the last job done. */
  cpuMs: CpuParts;
}

/** (a) BullMQ alone: addBulk N no-op jobs, then a Worker runs them. */
async function rawBullmq(): Promise<RawResult> {
  const prefix = `bench_raw_${rand(4)}`;
  const producerConnection: Redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection: Redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection: producerConnection, prefix });
  let worker: Worker | undefined;
  try {
    await queue.waitUntilReady();
    const cpuParts = { self: 'bench', redis: producerConnection };
    const cpuBefore = await cpuNow(cpuParts);
    const clock = stopwatch();
    for (let start = 0; start < N; start += ADD_BULK_CHUNK) {
      const jobs = [];
      for (let i = start; i < Math.min(N, start + ADD_BULK_CHUNK); i++) {
        jobs.push({ name: 'noop', data: { i }, opts: RAW_JOB_OPTIONS });
      }
      await queue.addBulk(jobs);
    }
    const addMs = clock();
    let completed = 0;
    let elapsedMs = 0;
    let failure: Error | undefined;
    worker = new Worker('noop', () => Promise.resolve({ ok: true }), {
      connection: workerConnection,
      prefix,
      concurrency: CONCURRENCY,
    });
    worker.on('completed', () => {
      if (++completed === N) elapsedMs = clock();
    });
    worker.on('failed', (job, error) => {
      failure ??= new Error(`raw job ${job?.id} failed: ${error.message}`);
    });
    await pollUntil(() => Promise.resolve(completed === N || failure !== undefined), {
      everyMs: 20,
      stalledMs: STALLED_MS,
      progress: () => completed,
      what: 'raw BullMQ jobs to complete',
    });
    if (failure) throw failure;
    const cpuMs = cpuPerUnit(cpuBefore, await cpuNow(cpuParts), N);
    return { jobsPerSecond: (N / elapsedMs) * 1000, elapsedMs, addMs, completed, cpuMs };
  } finally {
    await worker?.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    producerConnection.disconnect();
    workerConnection.disconnect();
    await dropPrefix(TEST_REDIS_URL, prefix);
  }
}

interface BatonResult {
  itemsPerSecond: number;
  elapsedMs: number;
  acceptMs: number;
  bodyBytes: number;
  bigAcceptMs: number;
  bigBodyBytes: number;
  readMs: ReturnType<typeof summarize>;
  batch: any;
  sim: ReturnType<RunningSimulator['stats']>;
  /** Counts every TIMELINE_MS from the POST: where the time goes (feeding, running, finishing). */
  timeline: string[];
  /** Ms of CPU per item by part (cpu.ts; `bench` holds the simulator), from the POST to the terminal status. */
  cpuMs: CpuParts;
}

async function post(d: Deployment, key: string, path: string, body: string) {
  const res = await fetch(d.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

const batchBody = (n: number, name: string): string =>
  JSON.stringify({
    name,
    items: Array.from({ length: n }, (_, i) => ({ i })),
    policy: { maxAttempts: 3, backoff: { baseMs: 50, maxMs: 1000, jitter: 'full' } },
  });

/** (b) and (c): Baton's API and worker processes, the simulator in this process. */
async function baton(): Promise<BatonResult> {
  const sim = await startSimulator({ seed: 'bench', ...QUIET_CLUSTER });
  const secret = randomBytes(16).toString('hex');
  let d: Deployment | undefined;
  const redis = new IORedis(TEST_REDIS_URL);
  try {
    d = await asProcesses({
      CLUSTER_URL: sim.url,
      CLUSTER_CALLBACK_SECRET: secret,
      CLUSTER_SUBMIT_RATE: '0',
      ...(CLUSTER_CONCURRENCY ? { CLUSTER_CONCURRENCY } : {}),
      // Limits are correct behaviour, but here they would measure the limit instead of the service.
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      BACKLOG_LIMIT: '100000000',
      LOG_LEVEL: 'silent',
      ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
    });
    if (CALLBACKS) sim.configure({ callbacks: { url: `${d.url}/v1/cluster/callbacks`, secret } });
    const key = await tenantKey(d);
    const auth = { authorization: `Bearer ${key}` };

    const url = d.url;
    const body = batchBody(N, 'bench');
    const cpuParts = { self: 'bench', pids: d.pids?.(), redis, postgres: true };
    const cpuBefore = await cpuNow(cpuParts);
    const startedAt = Date.now(); // wall clock, to compare with the batch's finishedAt
    const clock = stopwatch();
    const created = await post(d, key, '/v1/batches', body);
    const acceptMs = clock();
    if (created.status !== 202) {
      throw new Error(`POST /v1/batches answered ${created.status}: ${JSON.stringify(created.body).slice(0, 500)}`);
    }
    const id: string = created.body.id;
    const readMs: number[] = [];
    const timeline: string[] = [];
    let nextSample = 0;
    let batch: any = created.body;
    await pollUntil(
      async () => {
        const t = stopwatch();
        const res = await fetch(`${url}/v1/batches/${id}`, { headers: auth });
        readMs.push(t());
        if (res.status !== 200) throw new Error(`GET /v1/batches/${id} answered ${res.status}: ${await res.text()}`);
        batch = await res.json();
        if (clock() >= nextSample) {
          const k = batch.counts;
          timeline.push(`${round(clock() / 1000)}s q${k.queued} r${k.running} s${k.succeeded} f${k.failed}`);
          nextSample += TIMELINE_MS;
        }
        return TERMINAL.includes(batch.status);
      },
      {
        everyMs: 100,
        stalledMs: STALLED_MS,
        progress: () => (batch.counts ? batch.counts.succeeded + batch.counts.failed + batch.counts.cancelled : 0),
        what: 'the batch to end',
      },
    );
    // finishedAt is when the work ended; the poll notices it up to 100 ms (and a read) later.
    const polledMs = clock();
    const cpuMs = cpuPerUnit(cpuBefore, await cpuNow(cpuParts), N);
    const finishedAt = batch.finishedAt ? Date.parse(batch.finishedAt) : Number.NaN;
    const elapsedMs = Number.isFinite(finishedAt) ? Math.min(polledMs, finishedAt - startedAt) : polledMs;
    if (batch.status !== 'succeeded' || batch.counts.succeeded !== N) {
      throw new Error(`the batch ended ${batch.status} with counts ${JSON.stringify(batch.counts)}, expected ${N}`);
    }
    const simStats = sim.stats();

    // (c) The largest request: only its acceptance is measured, then it is cancelled so the processes stop quickly.
    const bigBody = batchBody(BIG_N, 'bench-big');
    const bigClock = stopwatch();
    const big = await post(d, key, '/v1/batches', bigBody);
    const bigAcceptMs = bigClock();
    if (big.status !== 202) {
      throw new Error(`POST /v1/batches (${BIG_N}) answered ${big.status}: ${JSON.stringify(big.body).slice(0, 500)}`);
    }
    const cancel = await post(d, key, `/v1/batches/${big.body.id}/cancel`, '{}');
    if (cancel.status !== 202) console.warn(`cancel of the ${BIG_N}-item batch answered ${cancel.status}`);

    return {
      itemsPerSecond: (N / elapsedMs) * 1000,
      elapsedMs,
      acceptMs,
      bodyBytes: Buffer.byteLength(body),
      bigAcceptMs,
      bigBodyBytes: Buffer.byteLength(bigBody),
      readMs: summarize(readMs),
      batch,
      sim: simStats,
      timeline,
      cpuMs,
    };
  } finally {
    redis.disconnect();
    await d?.close();
    await sim.close();
  }
}

async function main(): Promise<void> {
  const settings = {
    n: N,
    bigN: BIG_N,
    rawConcurrency: CONCURRENCY,
    clusterConcurrency: CLUSTER_CONCURRENCY ?? "Baton's default",
    callbacks: CALLBACKS,
    redis: TEST_REDIS_URL,
  };
  console.log(`batches bench: ${JSON.stringify(settings)}; raw BullMQ first, then Baton, each on a fresh queue prefix`);
  console.log(
    'raw BullMQ in this process; Baton as an API process and a worker process (LOG_LEVEL=silent, rate and backlog ' +
      'limits raised) against the cluster simulator in this process at zero latency, no faults\n',
  );

  console.log(`load average before: ${load()} (${availableCpus()} CPUs)`);
  const raw = await rawBullmq();
  console.log(`raw BullMQ: ${N} jobs in ${round(raw.elapsedMs)} ms (addBulk ${round(raw.addMs)} ms)`);
  console.log(`load average: ${load()}`);
  const b = await baton();
  console.log(`load average after: ${load()}`);
  console.log(`Baton progress (queued/running/succeeded/failed): ${b.timeline.join(' | ')}`);
  console.log(
    `Baton: ${N} items in ${round(b.elapsedMs)} ms (202 after ${round(b.acceptMs)} ms); ` +
      `${BIG_N}-item request answered 202 in ${round(b.bigAcceptMs)} ms\n`,
  );

  const ratio = b.itemsPerSecond / raw.jobsPerSecond;
  console.log(
    table(
      ['', 'raw BullMQ', 'Baton'],
      [
        ['items/s (end to end)', raw.jobsPerSecond, b.itemsPerSecond],
        ['elapsed ms', raw.elapsedMs, b.elapsedMs],
        [`submit ms (addBulk / POST 202, ${N} items)`, raw.addMs, b.acceptMs],
        [`POST 202 ms, ${BIG_N} items`, '', b.bigAcceptMs],
        ['GET /v1/batches/:id p50 ms', '', b.readMs.p50],
        ['GET /v1/batches/:id p99 ms', '', b.readMs.p99],
      ],
    ),
  );
  const verdict = ratio >= TARGET_RATIO ? 'meets target' : 'below target';
  console.log(`\nratio Baton/raw: ${round(ratio)} (target >= ${TARGET_RATIO}: ${verdict})`);
  console.log(
    `simulator: ${b.sim.jobsCreated} jobs created, ${b.sim.submissionsReceived} submissions, ` +
      `${b.sim.statusReads} status reads, max ${b.sim.maxSubmissionsPerSecond} submissions/s, ` +
      `${b.sim.callbacksSent} callbacks sent`,
  );
  // Every part shares this machine's cores: what an item costs in CPU, all processes together, bounds the rate.
  console.log(`CPU ms per job, raw BullMQ: ${formatCpu(raw.cpuMs)}`);
  console.log(`CPU ms per item, Baton (bench: the simulator and the poll): ${formatCpu(b.cpuMs)}`);
  console.log(`CPU per item over CPU per raw job: ${round(b.cpuMs.total / raw.cpuMs.total)}`);
  console.log(
    JSON.stringify({
      ...settings,
      raw: {
        jobsPerSecond: round(raw.jobsPerSecond),
        elapsedMs: round(raw.elapsedMs),
        addBulkMs: round(raw.addMs),
        completed: raw.completed,
        cpuMs: raw.cpuMs,
      },
      baton: {
        itemsPerSecond: round(b.itemsPerSecond),
        elapsedMs: round(b.elapsedMs),
        acceptMs: round(b.acceptMs),
        bodyBytes: b.bodyBytes,
        bigAcceptMs: round(b.bigAcceptMs),
        bigBodyBytes: b.bigBodyBytes,
        readP50Ms: round(b.readMs.p50),
        readP99Ms: round(b.readMs.p99),
        cpuMs: b.cpuMs,
        status: b.batch.status,
        counts: b.batch.counts,
        simulator: {
          jobsCreated: b.sim.jobsCreated,
          submissionsReceived: b.sim.submissionsReceived,
          statusReads: b.sim.statusReads,
          maxSubmissionsPerSecond: b.sim.maxSubmissionsPerSecond,
          maxJobsPerToken: b.sim.maxJobsPerToken,
          callbacksSent: b.sim.callbacksSent,
        },
      },
      ratio: Math.round(ratio * 1000) / 1000,
      target: TARGET_RATIO,
      meetsTarget: ratio >= TARGET_RATIO,
    }),
  );
}

main().catch((error: unknown) => {
  console.error('batches bench failed:', error);
  process.exitCode = 1;
});
