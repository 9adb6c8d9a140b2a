// `npm run bench:floor`: what the shape of the task path costs before any of Baton's own code, so the tasks bench's
// ratio can be read against what a service of that shape can reach on this machine at all.
//
// On the same Redis, in one run, N no-op jobs each, 32 clients or producers, worker concurrency 32:
//   (a) raw BullMQ, as in the tasks bench: producers and the worker in this process;
//   (b) HTTP floor: a bare node:http process that `queue.add`s each POST and answers 202, a bare BullMQ worker process
//       (bench/floor-service.ts): no framework, auth, validation, limits, fairness, ids or logs;
//   (c) HTTP + Postgres floor: as (b), plus one INSERT per request before the add and one UPDATE per job at its end,
//       the least a service whose system of record is Postgres must do; (c') the same writes gathered into one
//       statement per process while the previous one runs (as Baton's stores do);
//   (d) Baton, exactly as the tasks bench runs it.
// Prints jobs/s and ms of CPU per job by part for each, each one's ratio to raw BullMQ, and Baton's ratio to each
// floor. Settings as the tasks bench (BENCH_N, BENCH_CLIENTS, BENCH_CONCURRENCY).
//
// Then the floor of a batch item (issue 3's benchmark): the two cluster calls every item needs at the least (its submit
// and one status check) made by a bare undici client, 200 at a time (Baton's CLUSTER_CONCURRENCY), against the
// simulator at zero latency in its own process. With a BullMQ job per item costing at least what a raw job costs, an
// item costs at least raw + calls in CPU, which bounds the batch ratio on this machine before any Postgres write.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { Pool as HttpPool } from 'undici';
import { freePort } from '@baton/runtime';
import { dropPrefix, freshDatabase, rand, TEST_REDIS_URL } from '../test/support/harness';
import { cpuNow, cpuPerUnit, formatCpu } from './cpu';
import { httpClient, round, runPool, stopwatch, table } from './support';
import { baton, CLIENTS, CONCURRENCY, N, rawBullmq, STALLED_MS, WARMUP, type Result } from './tasks.bench';

interface FloorRun {
  jobsPerSecond: number;
  elapsedMs: number;
  cpuMs: Record<string, number>;
  rows?: number;
}

/**
 * A floor-service child, and a promise per line it prints (`listening`, `ready`, `done`): it rejects on a `failed …`
 * line, on the child's exit, or after STALLED_MS. Lines printed before anyone waits for them count.
 */
function child(
  role: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
): { proc: ChildProcess; line: (l: string) => Promise<void> } {
  const proc = spawn(process.execPath, ['dist/bench/floor-service.js', role], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout });
  const seen = new Set<string>();
  lines.on('line', (l) => seen.add(l));
  const line = (expected: string) =>
    new Promise<void>((resolve, reject) => {
      const failed = [...seen].find((l) => l.startsWith('failed'));
      if (failed) return reject(new Error(`floor ${role}: ${failed}`));
      if (seen.has(expected)) return resolve();
      const settle = (error?: Error) => {
        clearTimeout(stall);
        lines.off('line', onLine);
        proc.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onLine = (l: string) => {
        if (l === expected) settle();
        else if (l.startsWith('failed')) settle(new Error(`floor ${role}: ${l}`));
      };
      const onExit = (code: number | null) => settle(new Error(`floor ${role} exited with ${code}`));
      const stall = setTimeout(
        () => settle(new Error(`floor ${role}: no "${expected}" in ${STALLED_MS} ms`)),
        STALLED_MS,
      );
      lines.on('line', onLine);
      proc.once('exit', onExit);
    });
  return { proc, line };
}

/** Baton's default CLUSTER_CONCURRENCY: item steps a worker process runs at once. */
const CLUSTER_CONCURRENCY = 200;

async function floor(pgMode: '0' | 'each' | 'batched'): Promise<FloorRun> {
  const withPostgres = pgMode !== '0';
  const prefix = `bench_floor_${rand(4)}`;
  const db = withPostgres ? await freshDatabase() : undefined;
  if (db) {
    const name = db.url.slice(db.url.lastIndexOf('/') + 1);
    const admin = new Client({ connectionString: db.url.slice(0, db.url.lastIndexOf('/')) + '/postgres' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    await pg.query(`CREATE TABLE floor_tasks (id uuid PRIMARY KEY, handler text NOT NULL, payload jsonb NOT NULL,
      status text NOT NULL DEFAULT 'queued', created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)`);
    await pg.end();
  }
  const port = await freePort();
  const env = {
    ...process.env,
    FLOOR_PREFIX: prefix,
    FLOOR_REDIS_URL: TEST_REDIS_URL,
    FLOOR_PORT: String(port),
    FLOOR_N: String(N),
    FLOOR_CONCURRENCY: String(CONCURRENCY),
    FLOOR_PG: pgMode,
    FLOOR_DATABASE_URL: db?.url ?? '',
  };
  const api = child('api', env);
  const worker = child('worker', env);
  const client = httpClient(`http://127.0.0.1:${port}`, CLIENTS);
  const redis = new IORedis(TEST_REDIS_URL);
  try {
    await Promise.all([api.line('listening'), worker.line('ready')]);
    const parts = {
      self: 'bench',
      pids: { api: api.proc.pid!, worker: worker.proc.pid! },
      redis,
      postgres: withPostgres,
    };
    const before = await cpuNow(parts);
    const clock = stopwatch();
    const done = worker.line('done');
    await runPool(CLIENTS, N, async (i) => {
      const reply = await client.post('/tasks', { handler: 'noop', payload: { i } });
      if (reply.status !== 202) throw new Error(`floor API answered ${reply.status}: ${reply.body.slice(0, 300)}`);
    });
    await done;
    const elapsedMs = clock();
    const cpuMs = cpuPerUnit(before, await cpuNow(parts), N);
    let rows: number | undefined;
    if (db) {
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      rows = (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM floor_tasks WHERE status = 'succeeded'`))
        .rows[0].n;
      await pg.end();
      if (rows !== N) throw new Error(`floor: Postgres holds ${rows} succeeded rows, expected ${N}`);
    }
    return { jobsPerSecond: (N / elapsedMs) * 1000, elapsedMs, cpuMs, rows };
  } finally {
    client.close();
    redis.disconnect();
    for (const c of [api.proc, worker.proc]) if (c.exitCode === null) c.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await dropPrefix(TEST_REDIS_URL, prefix);
    await db?.drop();
  }
}

/** Submit + one status read per item, against the simulator in a child process: CPU of this client and of it. */
async function clusterCalls(n: number, concurrency: number): Promise<FloorRun> {
  const sim = spawn(process.execPath, ['dist/bench/floor-service.js', 'simulator'], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: sim.stdout }).once('line', resolve);
      sim.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });
    const pool = new HttpPool(url, { connections: concurrency });
    const parts = { self: 'client', pids: { simulator: sim.pid! } };
    const before = await cpuNow(parts);
    const clock = stopwatch();
    await runPool(concurrency, n, async (i) => {
      const submitted = await pool.request({
        method: 'POST',
        path: '/jobs',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ params: { i }, clientToken: `floor-${i}` }),
      });
      const { jobUuid } = (await submitted.body.json()) as { jobUuid: string };
      const read = await pool.request({ method: 'GET', path: `/jobs/${jobUuid}` });
      const { status } = (await read.body.json()) as { status: string };
      if (status !== 'SUCCEEDED') throw new Error(`simulator job ${jobUuid} read ${status}`);
    });
    const elapsedMs = clock();
    const cpuMs = cpuPerUnit(before, await cpuNow(parts), n);
    await pool.close();
    return { jobsPerSecond: (n / elapsedMs) * 1000, elapsedMs, cpuMs };
  } finally {
    sim.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  console.log(
    `floor bench: ${JSON.stringify({ n: N, clients: CLIENTS, concurrency: CONCURRENCY, redis: TEST_REDIS_URL })}`,
  );
  console.log('raw BullMQ, the HTTP floor, the HTTP + Postgres floors, then Baton, each on a fresh queue prefix\n');
  await rawBullmq(false, WARMUP); // warm, as the tasks bench runs it (Baton warms up in baton(); the floors run cold)
  const raw = await rawBullmq();
  console.log(`raw BullMQ: ${N} jobs in ${round(raw.elapsedMs)} ms`);
  const http = await floor('0');
  console.log(`HTTP floor: ${N} jobs in ${round(http.elapsedMs)} ms`);
  const httpPg = await floor('each');
  console.log(`HTTP + Postgres floor: ${N} jobs in ${round(httpPg.elapsedMs)} ms; rows succeeded ${httpPg.rows}`);
  const httpPgBatched = await floor('batched');
  console.log(
    `HTTP + Postgres floor, writes gathered: ${N} jobs in ${round(httpPgBatched.elapsedMs)} ms; ` +
      `rows succeeded ${httpPgBatched.rows}`,
  );
  const b: Result = await baton();
  console.log(`Baton: ${N} tasks in ${round(b.elapsedMs)} ms\n`);

  const runs: [string, { jobsPerSecond: number; cpuMs: Record<string, number> }][] = [
    ['raw BullMQ', raw],
    ['HTTP floor', http],
    ['HTTP + Postgres floor', httpPg],
    ['HTTP + Postgres, gathered', httpPgBatched],
    ['Baton', b],
  ];
  console.log(
    table(
      ['', 'jobs/s', 'ratio to raw', 'CPU ms per job', 'Baton / this'],
      runs.map(([label, r]) => [
        label,
        round(r.jobsPerSecond),
        round(r.jobsPerSecond / raw.jobsPerSecond),
        r.cpuMs.total,
        round(b.jobsPerSecond / r.jobsPerSecond),
      ]),
    ),
  );
  console.log('');
  for (const [label, r] of runs) console.log(`CPU ms per job, ${label}: ${formatCpu(r.cpuMs)}`);
  const calls = await clusterCalls(N, CLUSTER_CONCURRENCY);
  const rawMs = raw.cpuMs.total;
  const bound = rawMs / (rawMs + calls.cpuMs.total);
  console.log(
    `\nBatch item floor: ${N} items, each a submit and a status read (undici, ${CLUSTER_CONCURRENCY} at a time) against ` +
      `the simulator: ${round(calls.jobsPerSecond)} items/s; CPU ms per item: ${formatCpu(calls.cpuMs)}.\n` +
      `A raw BullMQ job costs ${rawMs} ms (run a). An item, a job plus its two calls, costs at least ` +
      `${round(rawMs + calls.cpuMs.total)} ms: at most ${round(bound)} of raw BullMQ's rate on this machine, before any ` +
      `Postgres write, API call or wait (the batches benchmark's target is 0.5).`,
  );
  console.log(
    JSON.stringify({
      n: N,
      batchItemFloor: { itemsPerSecond: round(calls.jobsPerSecond), cpuMs: calls.cpuMs, boundOnRatio: round(bound) },
      ...Object.fromEntries(
        runs.map(([label, r]) => [
          label,
          {
            jobsPerSecond: round(r.jobsPerSecond),
            ratioToRaw: round(r.jobsPerSecond / raw.jobsPerSecond),
            cpuMs: r.cpuMs,
          },
        ]),
      ),
    }),
  );
}

main().catch((error: unknown) => {
  console.error('floor bench failed:', error);
  process.exitCode = 1;
});
