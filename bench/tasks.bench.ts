// `npm run bench`: how much of raw BullMQ's throughput survives the trip through Baton.
//
// On the same Redis, in one run:
//   (a) raw BullMQ: CLIENTS concurrent producers `queue.add` N no-op jobs while one Worker (concurrency C) runs them,
//       all in this process;
//   (b) Baton: CLIENTS concurrent HTTP clients in this process `POST /v1/tasks` N `noop` tasks to the real API, which
//       the real worker (TASK_CONCURRENCY = C) runs, until Postgres holds every task as succeeded. BENCH_LAYOUT=processes
//       (the default) runs the API and the worker as their own processes (`start:api`, `start:worker`), as Baton is
//       deployed; BENCH_LAYOUT=single boots both inside this process, beside the clients.
// Prints jobs/s, submit and enqueue-to-start latency (p50/p99) for both, and the ratio b/a (target: at least 0.25).
// The pair runs BENCH_ROUNDS times (default 3), alternating, with one more raw run after the last Baton run: each
// round's ratio sets Baton against the mean of the raw runs before and after it, and the figures are the median
// round's (by ratio). Both run warm, and stay so from round to round: raw BullMQ in this one process after a
// discarded warm-up, Baton in one deployment (deployBaton) after warm-up tasks of its own.
// Settings: BENCH_N (default 20000), BENCH_CONCURRENCY (worker concurrency of both, default 32), BENCH_CLIENTS
// (default 32), DATABASE_POOL_SIZE (passed to Baton when set). Exits non-zero only when something failed.
import IORedis, { type Redis } from 'ioredis';
import { Client } from 'pg';
import { Queue, Worker, type Job } from 'bullmq';
import { dropPrefix, rand, TEST_REDIS_URL } from '../test/support/harness';
import { cpuNow, cpuPerUnit, formatCpu, type CpuParts } from './cpu';
import { asProcesses, inThisProcess, tenantKey } from './deployment';
import {
  httpClient,
  intFromEnv,
  pollUntil,
  round,
  runPool,
  stopwatch,
  summarize,
  table,
  type Summary,
} from './support';

export const N = intFromEnv('BENCH_N', 20_000);
export const CLIENTS = intFromEnv('BENCH_CLIENTS', 32);
export const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 32);
/** Raw and Baton runs alternate this many times; the median round's ratio is the verdict. */
const ROUNDS = intFromEnv('BENCH_ROUNDS', 3);
/**
 * Jobs and tasks run before any clock starts, raw BullMQ's once and each Baton deployment's: both measured warm, as a
 * service runs most of its life. After 2,000 tasks (the default until 24 November 2026) V8 was still optimizing about
 * ten functions a second in the API through the timed run (`--log-code`), and TurboFan took 7-8% of the API's CPU;
 * after 10,000, 3.9% (perf). BENCH_WARMUP sets it.
 */
export const WARMUP = intFromEnv('BENCH_WARMUP', Math.min(10_000, Math.ceil(N / 2)));
const BATON_ENV = {
  TASK_CONCURRENCY: String(CONCURRENCY),
  // Limits are correct behaviour, but here they would measure the limit instead of the service.
  RATE_LIMIT_PER_SECOND: '1000000',
  RATE_LIMIT_BURST: '1000000',
  BACKLOG_LIMIT: '100000000',
  // A log line per request costs CPU that the raw run does not spend; the output says logs are off.
  LOG_LEVEL: 'silent',
  ...(process.env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE } : {}),
};

const LAYOUT = process.env.BENCH_LAYOUT === 'single' ? 'single' : 'processes';
const TARGET_RATIO = 0.25;
/** A run that makes no progress for this long has failed (a lost job, a dead worker), rather than hanging forever. */
export const STALLED_MS = 60_000;
/** Baton's task jobs keep 1000 completed / 5000 failed jobs in Redis; raw BullMQ gets the same, for fairness. */
const RAW_JOB_OPTIONS = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };

export interface Result {
  jobsPerSecond: number;
  elapsedMs: number;
  submitMs: Summary;
  enqueueToStartMs: Summary;
  /** Ms of CPU per job by part of the run (see cpu.ts), measured from the first submit to the last job done. */
  cpuMs: CpuParts;
}

/**
 * The options Baton gives every task job (libs/tasks TaskQueue): its own id, a priority, attempts and backoff. The
 * second raw run uses them too, to show what BullMQ itself costs once jobs carry what a real service needs.
 */
const BATON_LIKE_OPTIONS = (i: number) => ({
  ...RAW_JOB_OPTIONS,
  jobId: `job-${i}`,
  priority: 5,
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
});

/** (a) BullMQ alone: the ceiling this Redis and this machine allow for add + process + complete. */
export async function rawBullmq(withBatonOptions = false, n = N): Promise<Result & { completed: number }> {
  const prefix = `bench_raw_${rand(4)}`;
  // Two connections, as Baton has: producers must not queue behind the worker's blocking commands.
  const producerConnection: Redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection: Redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('tasks', { connection: producerConnection, prefix });
  const submitMs = new Float64Array(n);
  const startMs: number[] = [];
  let completed = 0;
  let failedJob: Error | undefined;
  let elapsedMs = 0;
  let clock = stopwatch();
  const worker = new Worker(
    'tasks',
    (job: Job) => {
      // job.timestamp is set by the producer when it builds the job, just before sending it.
      startMs.push(Date.now() - job.timestamp);
      return Promise.resolve({ ok: true });
    },
    { connection: workerConnection, prefix, concurrency: CONCURRENCY },
  );
  // 'completed' fires once the job has been moved to completed in Redis: that, not the processor's return, is done.
  worker.on('completed', () => {
    if (++completed === n) elapsedMs = clock();
  });
  worker.on('failed', (job, error) => {
    failedJob ??= new Error(`raw job ${job?.id} failed: ${error.message}`);
  });
  try {
    await worker.waitUntilReady();
    await queue.waitUntilReady();
    const cpuParts = { self: 'bench', redis: producerConnection };
    const cpuBefore = await cpuNow(cpuParts);
    clock = stopwatch();
    await runPool(CLIENTS, n, async (i) => {
      const t = stopwatch();
      await queue.add('noop', { i }, withBatonOptions ? BATON_LIKE_OPTIONS(i) : RAW_JOB_OPTIONS);
      submitMs[i] = t();
    });
    // The clock stopped in the 'completed' handler; this only waits for it, or gives up on a stalled run.
    await pollUntil(() => Promise.resolve(completed === n || failedJob !== undefined), {
      everyMs: 20,
      stalledMs: STALLED_MS,
      progress: () => completed,
      what: 'raw BullMQ jobs to complete',
    });
    if (failedJob) throw failedJob;
    return {
      jobsPerSecond: (n / elapsedMs) * 1000,
      elapsedMs,
      submitMs: summarize(submitMs),
      enqueueToStartMs: summarize(startMs),
      cpuMs: cpuPerUnit(cpuBefore, await cpuNow(cpuParts), n),
      completed,
    };
  } finally {
    await worker.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
    producerConnection.disconnect();
    workerConnection.disconnect();
    await dropPrefix(TEST_REDIS_URL, prefix);
  }
}

/** How baton() deploys and loads Baton: the defaults are this bench's; bench:compare sets its own. */
export interface BatonRun {
  /** Tasks on the clock (default N) and before it (default WARMUP). */
  n?: number;
  warmup?: number;
  /** Settings over BATON_ENV's. */
  settings?: Record<string, string>;
  /** The checkout whose built apps run (processes layout only; default this one). */
  root?: string;
  /**
   * Node flags for the API and worker processes, after the start scripts' own (package.json `config.nodeFlags`), so a
   * later one wins (processes layout only; default BENCH_CHILD_FLAGS).
   */
  flags?: string[];
}

type BatonResult = Result & { succeededRows: number; otherRows: Record<string, number> };

/** A Baton deployment warmed up and ready for runs on the clock; close() stops it. */
export interface BatonDeployment {
  measure(n?: number): Promise<BatonResult>;
  close(): Promise<void>;
}

/**
 * Deploys Baton (the API and the worker, as processes or in this process) and runs its warm-up tasks. The deployment
 * then serves every run on the clock until it is closed, as raw BullMQ's process does: both stay warm from one round to
 * the next. (Until 24 November 2026 each round deployed Baton afresh after WARMUP tasks, while raw BullMQ ran on in
 * the one process and kept warming: its CPU per job in this process fell from 0.064 to 0.054 ms over its first 50,000
 * jobs here, and the raw rate around Baton's later rounds was measured warmer than Baton itself.)
 */
export async function deployBaton(run: BatonRun = {}): Promise<BatonDeployment> {
  const { warmup = WARMUP, root, flags } = run;
  const env = { ...BATON_ENV, ...run.settings };
  if (LAYOUT === 'single' && (root || flags))
    throw new Error('another checkout or node flags run only as processes (BENCH_LAYOUT=processes)');
  const h = LAYOUT === 'single' ? await inThisProcess(env) : await asProcesses(env, { root, flags });
  const client = httpClient(h.url, CLIENTS);
  // Progress is polled on a connection of our own, so the bench does not take connections from the service's pool.
  const pg = new Client({ connectionString: h.databaseUrl });
  const redis = new IORedis(TEST_REDIS_URL);
  const close = async () => {
    client.close();
    redis.disconnect();
    await pg.end().catch(() => undefined);
    await h.close();
  };
  try {
    await pg.connect();
    const key = await tenantKey(h);
    const auth = { authorization: `Bearer ${key}` };
    let posted = 0;
    const post = async () => {
      const reply = await client.post('/v1/tasks', { handler: 'noop', payload: { i: posted++ } }, auth);
      if (reply.status !== 202) throw new Error(`POST /v1/tasks answered ${reply.status}: ${reply.body.slice(0, 500)}`);
    };
    // Warm-up, before the clock, as raw BullMQ gets one: the fresh API and worker processes compile their hot paths.
    await runPool(CLIENTS, warmup, post);
    await pollUntil(
      async () =>
        (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE status = 'succeeded'`)).rows[0].n >=
        warmup,
      { everyMs: 50, stalledMs: STALLED_MS, progress: () => 0, what: 'the warm-up tasks to succeed' },
    );
    // The bench process holds the clients (and, with BENCH_LAYOUT=single, the API and the worker too).
    const cpuParts = { self: LAYOUT === 'single' ? 'bench+baton' : 'bench', pids: h.pids?.(), redis, postgres: true };
    const measure = (n = N) => measureBaton({ n, pg, post, cpuParts });
    return { measure, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** One run on the clock: n tasks posted by CLIENTS clients, until Postgres holds every one of them as succeeded. */
async function measureBaton({
  n,
  pg,
  post,
  cpuParts,
}: {
  n: number;
  pg: Client;
  post: () => Promise<void>;
  cpuParts: Parameters<typeof cpuNow>[0];
}): Promise<BatonResult> {
  const submitMs = new Float64Array(n);
  const cpuBefore = await cpuNow(cpuParts);
  const startedAt = Date.now(); // wall clock, to compare with finished_at, which the worker sets with new Date()
  // The measured tasks are those created from here on (created_at is Postgres' clock, on this machine).
  const measuredFrom = new Date(startedAt);
  const clock = stopwatch();
  await runPool(CLIENTS, n, async (i) => {
    const t = stopwatch();
    await post();
    submitMs[i] = t();
  });

  // Done means every row reads succeeded: one count every 250 ms, not a GET per task, which would load the API. Each
  // count scans the table's status index (a few ms of Postgres CPU at 20,000 rows), and the elapsed time comes from
  // the last finished_at below, not from when the poll noticed, so polling more often only costs the service CPU.
  let succeeded = 0;
  let failed = 0;
  await pollUntil(
    async () => {
      const { rows } = await pg.query<{ ok: number; bad: number }>(
        `SELECT (SELECT count(*) FROM tasks WHERE status = 'succeeded' AND created_at >= $1)::int AS ok,
                (SELECT count(*) FROM tasks WHERE status IN ('failed', 'cancelled'))::int AS bad`,
        [measuredFrom],
      );
      succeeded = rows[0].ok;
      failed = rows[0].bad;
      return succeeded + failed >= n;
    },
    { everyMs: 250, stalledMs: STALLED_MS, progress: () => succeeded + failed, what: 'Baton tasks to succeed' },
  );
  const polledMs = clock();
  const cpuMs = cpuPerUnit(cpuBefore, await cpuNow(cpuParts), n);

  // The figures come from the rows themselves, through the service's own client, now that the run is over.
  // created_at is the insert (before the enqueue), started_at the worker's claim: both Postgres' now(), one clock.
  const {
    rows: [stats],
  } = await pg.query<{ p50: number; p99: number; max: number; count: number; lastFinished: Date | null }>(
    `
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
           max(ms) AS max, count(*)::int AS count, max(finished_at) AS "lastFinished"
    FROM (SELECT extract(epoch FROM started_at - created_at)::float8 * 1000 AS ms, finished_at
          FROM tasks WHERE status = 'succeeded' AND created_at >= $1) s`,
    [measuredFrom],
  );
  const { rows: byStatus } = await pg.query<{ status: string; n: number }>(
    `SELECT status::text AS status, count(*)::int AS n FROM tasks WHERE created_at >= $1 GROUP BY status`,
    [measuredFrom],
  );
  const succeededRows = byStatus.find((r) => r.status === 'succeeded')?.n ?? 0;
  const otherRows = Object.fromEntries(byStatus.filter((r) => r.status !== 'succeeded').map((r) => [r.status, r.n]));
  if (succeededRows !== n) {
    throw new Error(
      `Postgres holds ${succeededRows} succeeded tasks, expected ${n} (others: ${JSON.stringify(otherRows)})`,
    );
  }
  // The last finished_at is when the work ended; the poll only notices it up to 100 ms (and a query) later.
  const elapsedMs = stats.lastFinished ? Math.min(polledMs, stats.lastFinished.getTime() - startedAt) : polledMs;
  return {
    jobsPerSecond: (n / elapsedMs) * 1000,
    elapsedMs,
    submitMs: summarize(submitMs),
    enqueueToStartMs: { p50: stats.p50, p99: stats.p99, max: stats.max, count: stats.count },
    cpuMs,
    succeededRows,
    otherRows,
  };
}

/** (b) The same work through the API and the worker: a deployment of its own, warmed up, and one run on the clock. */
export async function baton(run: BatonRun = {}): Promise<BatonResult> {
  const d = await deployBaton(run);
  try {
    return await d.measure(run.n ?? N);
  } finally {
    await d.close();
  }
}

async function main(): Promise<void> {
  const settings = { n: N, clients: CLIENTS, concurrency: CONCURRENCY, layout: LAYOUT, redis: TEST_REDIS_URL };
  console.log(`tasks bench: ${JSON.stringify(settings)}; raw BullMQ first, then Baton, each on a fresh queue prefix`);
  console.log('Baton runs with LOG_LEVEL=silent (a log line per request costs CPU), rate and backlog limits raised');
  console.log(
    LAYOUT === 'single'
      ? 'clients, API, worker and raw BullMQ all share this one process\n'
      : 'raw BullMQ in this process; Baton as an API process and a worker process, its clients in this process\n',
  );

  // Raw BullMQ's rate here moves by 10-50% from one short run to the next (the shared machine's phases), Baton's less
  // over its longer run. So the runs alternate, ROUNDS times, and each round sets Baton against the mean rate of the
  // raw runs just before and just after it (the one after is the next round's one before). The verdict is the median
  // round's ratio.
  type RawResult = Awaited<ReturnType<typeof rawBullmq>>;
  const rounds: { raw: RawResult; rawOpts: RawResult; b: BatonResult; rawAround: number; ratio: number }[] = [];
  await rawBullmq(false, WARMUP);
  // One Baton deployment for every round, as raw BullMQ has one process: both warmed up once, and warm after that.
  const deployment = await deployBaton();
  console.log(
    `warm-up: ${WARMUP} raw BullMQ jobs in this process, and ${WARMUP} tasks in the one Baton deployment that serves` +
      ` every round, before the clocks\n`,
  );
  let before = await rawBullmq();
  for (let i = 1; i <= ROUNDS; i++) {
    const raw = before;
    const which = i === 1 ? '' : ` (round ${i - 1}'s run after Baton)`;
    console.log(`round ${i}: raw BullMQ: ${N} jobs in ${round(raw.elapsedMs)} ms${which}`);
    const rawOpts = await rawBullmq(true);
    console.log(`round ${i}: raw BullMQ with Baton's job options: ${N} jobs in ${round(rawOpts.elapsedMs)} ms`);
    const b = await deployment.measure();
    console.log(
      `round ${i}: Baton: ${N} tasks in ${round(b.elapsedMs)} ms; Postgres tasks succeeded: ${b.succeededRows} of ${N};` +
        ` ${round(b.jobsPerSecond)} tasks/s`,
    );
    before = await rawBullmq();
    const rawAround = (raw.jobsPerSecond + before.jobsPerSecond) / 2;
    const ratio = b.jobsPerSecond / rawAround;
    console.log(
      `round ${i}: raw BullMQ after Baton: ${N} jobs in ${round(before.elapsedMs)} ms; Baton against` +
        ` ${round(rawAround)} jobs/s (raw before ${round(raw.jobsPerSecond)}, after ${round(before.jobsPerSecond)}):` +
        ` ratio ${round(ratio)}\n`,
    );
    rounds.push({ raw, rawOpts, b, rawAround, ratio });
  }
  await deployment.close();
  const byRatio = [...rounds].sort((x, y) => x.ratio - y.ratio);
  const { raw, rawOpts, b, rawAround, ratio } = byRatio[Math.floor((byRatio.length - 1) / 2)];
  if (ROUNDS > 1) {
    console.log(`ratios by round: ${rounds.map((r) => round(r.ratio)).join(', ')}; the median round below\n`);
  }

  const ratioOpts = b.jobsPerSecond / rawOpts.jobsPerSecond;
  const row = (label: string, pick: (r: Result) => number): (string | number)[] => [
    label,
    pick(raw),
    pick(rawOpts),
    pick(b),
  ];
  console.log(
    table(
      ['', 'raw BullMQ', 'raw + job options', 'Baton'],
      [
        row('jobs/s', (r) => r.jobsPerSecond),
        row('elapsed ms (first submit to last finished)', (r) => r.elapsedMs),
        row('submit p50 ms', (r) => r.submitMs.p50),
        row('submit p99 ms', (r) => r.submitMs.p99),
        row('enqueue-to-start p50 ms', (r) => r.enqueueToStartMs.p50),
        row('enqueue-to-start p99 ms', (r) => r.enqueueToStartMs.p99),
      ],
    ),
  );
  const verdict = ratio >= TARGET_RATIO ? 'meets target' : 'below target';
  const of = ROUNDS > 1 ? `, the median of ${ROUNDS} rounds` : '';
  console.log(
    `\nratio Baton/raw: ${round(ratio)}${of}, against raw BullMQ's ${round(rawAround)} jobs/s around Baton's run` +
      ` (target >= ${TARGET_RATIO}: ${verdict})`,
  );
  console.log(`ratio Baton/raw with the same job options: ${round(ratioOpts)}`);
  console.log(`Postgres tasks with status succeeded: ${b.succeededRows} (N = ${N})`);
  // Every part shares this machine's cores: what a task costs in CPU, all processes together, bounds the rate.
  console.log(`\nCPU ms per job, raw BullMQ: ${formatCpu(raw.cpuMs)}`);
  console.log(`CPU ms per task, Baton: ${formatCpu(b.cpuMs)}`);
  console.log(`CPU per task over CPU per raw job: ${round(b.cpuMs.total / raw.cpuMs.total)}`);

  const figures = (r: Result) => ({
    jobsPerSecond: round(r.jobsPerSecond),
    elapsedMs: round(r.elapsedMs),
    submitP50Ms: round(r.submitMs.p50),
    submitP99Ms: round(r.submitMs.p99),
    enqueueToStartP50Ms: round(r.enqueueToStartMs.p50),
    enqueueToStartP99Ms: round(r.enqueueToStartMs.p99),
    cpuMs: r.cpuMs,
  });
  console.log(
    JSON.stringify({
      ...settings,
      raw: { ...figures(raw), completed: raw.completed },
      rawWithJobOptions: { ...figures(rawOpts), completed: rawOpts.completed },
      ratioWithJobOptions: Math.round(ratioOpts * 1000) / 1000,
      baton: { ...figures(b), succeededRows: b.succeededRows, otherRows: b.otherRows, logLevel: 'silent' },
      rawJobsPerSecondAround: round(rawAround),
      ratio: Math.round(ratio * 1000) / 1000,
      roundRatios: rounds.map((r) => Math.round(r.ratio * 1000) / 1000),
      target: TARGET_RATIO,
      meetsTarget: ratio >= TARGET_RATIO,
    }),
  );
}

// floor.bench.ts runs the same raw and Baton runs beside its floors.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error('tasks bench failed:', error);
    process.exitCode = 1;
  });
}
