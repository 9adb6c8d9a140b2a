// `npm run bench:costs`: what one unit of each kind of work costs in each tier, for docs/scaling.md.
//
// Baton runs in this process (API, workers and GPU worker together) against a redis-server of its own (so Redis CPU,
// memory and commands are Baton's alone) and a fresh database on the Postgres server. The cluster simulator runs as
// a child process, so its CPU is not counted as Baton's. For each kind of work, measured over the phase:
//   - CPU: this process (process.cpuUsage: every thread, ONNX Runtime's included), Redis (INFO used_cpu_*), and the
//     Postgres backends serving this database (/proc/<pid>/stat of each; autovacuum, WAL writer and checkpointer are
//     shared and not counted);
//   - Redis: commands (INFO total_commands_processed) and bytes (used_memory) while the work waits and after it ends;
//   - Postgres: rows and bytes (pg_total_relation_size: heap, TOAST and indexes) added per table.
// Settings: BENCH_TASKS (default 2000), BENCH_ITEMS (batch items, default 2000), BENCH_INFERENCE (items, default 256),
// BENCH_SCHEDULES (one-second schedules, default 100) for BENCH_SCHEDULE_SECONDS (default 20), BENCH_DELIVERIES
// (webhook deliveries, default 1000). Prints one table per kind, and the load average (the machine may be shared).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import IORedis, { type Redis } from 'ioredis';
import { Client } from 'pg';
import { startGpuWorker, type GpuWorkerHandle } from '@baton/gpu-worker-app';
import { pngBase64 } from '@baton/inference';
import { freePort } from '@baton/runtime';
import { startBaton, type Harness } from '../test/support/harness';
import { startPrivateRedis } from '../test/support/redis';
import { startReceiver } from '../test/support/receiver';
import { httpClient, intFromEnv, pollUntil, table } from './support';

const TASKS = intFromEnv('BENCH_TASKS', 2000);
const ITEMS = intFromEnv('BENCH_ITEMS', 2000);
const INFERENCE = intFromEnv('BENCH_INFERENCE', 256);
const SCHEDULES = intFromEnv('BENCH_SCHEDULES', 100);
const SCHEDULE_SECONDS = intFromEnv('BENCH_SCHEDULE_SECONDS', 20);
const DELIVERIES = intFromEnv('BENCH_DELIVERIES', 1000);
const CLK_TCK = 100;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

interface Snapshot {
  nodeMs: number;
  redisMs: number;
  pgMs: number;
  simMs: number;
  redisCommands: number;
  redisBytes: number;
  tables: Map<string, { rows: number; bytes: number }>;
}

/** CPU ms of a process from /proc (user + system), 0 when it is gone. */
function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

class Meter {
  constructor(
    private readonly redis: Redis,
    private readonly pg: Client,
    private readonly sim: ChildProcess,
  ) {}

  async snapshot(): Promise<Snapshot> {
    const cpu = process.cpuUsage();
    const info = await this.redis.info();
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    const backends = await this.pg.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
    );
    const sizes = await this.pg.query<{ name: string; rows: string; bytes: string }>(
      `SELECT relname AS name, n_live_tup AS rows, pg_total_relation_size(relid) AS bytes FROM pg_stat_user_tables`,
    );
    return {
      nodeMs: (cpu.user + cpu.system) / 1000,
      redisMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
      pgMs: backends.rows.reduce((sum, b) => sum + procCpuMs(b.pid), 0),
      simMs: procCpuMs(this.sim.pid!),
      redisCommands: field('total_commands_processed'),
      redisBytes: field('used_memory'),
      tables: new Map(sizes.rows.map((r) => [r.name, { rows: Number(r.rows), bytes: Number(r.bytes) }])),
    };
  }

  /** Live rows and sizes are statistics: refreshed first, so a phase's rows are counted. */
  async settle(): Promise<void> {
    await this.pg.query('ANALYZE');
  }
}

function report(kind: string, unit: string, n: number, a: Snapshot, b: Snapshot, waiting?: Snapshot): void {
  const per = (x: number) => x / n;
  console.log(`\n## ${kind}: ${n} ${unit}s (load average ${load()})`);
  console.log(
    table(
      ['per ' + unit, 'value'],
      [
        ['CPU Baton process (ms)', per(b.nodeMs - a.nodeMs)],
        ['CPU Redis (ms)', per(b.redisMs - a.redisMs)],
        ['CPU Postgres backends (ms)', per(b.pgMs - a.pgMs)],
        ['CPU cluster simulator (ms, not Baton)', per(b.simMs - a.simMs)],
        ['Redis commands (incl. inside scripts)', per(b.redisCommands - a.redisCommands)],
        ...(waiting ? [['Redis bytes while waiting', per(waiting.redisBytes - a.redisBytes)] as [string, number]] : []),
        ['Redis bytes after', per(b.redisBytes - a.redisBytes)],
      ],
    ),
  );
  const rows: (string | number)[][] = [];
  for (const [name, after] of b.tables) {
    const before = a.tables.get(name) ?? { rows: 0, bytes: 0 };
    if (after.rows === before.rows && after.bytes === before.bytes) continue;
    rows.push([name, per(after.rows - before.rows), per(after.bytes - before.bytes)]);
  }
  console.log(table(['Postgres table', `rows per ${unit}`, `bytes per ${unit}`], rows));
}

async function main(): Promise<void> {
  const redisServer = await startPrivateRedis();
  const simPort = await freePort();
  const sim = spawn(process.execPath, ['dist/libs/cluster/src/simulator/main.js'], {
    env: { ...process.env, PORT: String(simPort), SIM_QUEUE_MS: '0', SIM_RUN_MS: '0' },
    stdio: 'ignore',
  });
  const slowSimPort = await freePort();
  // Runs that stay SUBMITTED for an hour: every item then waits in Redis as a delayed step job.
  const slowSim = spawn(process.execPath, ['dist/libs/cluster/src/simulator/main.js'], {
    env: { ...process.env, PORT: String(slowSimPort), SIM_QUEUE_MS: '3600000', SIM_RUN_MS: '0' },
    stdio: 'ignore',
  });
  const receiver = await startReceiver();
  const h: Harness = await startBaton({
    REDIS_URL: redisServer.url,
    CLUSTER_URL: `http://127.0.0.1:${simPort}`,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
    RATE_LIMIT_PER_SECOND: '100000',
  });
  const redis = new IORedis(redisServer.url);
  const pg = new Client({ connectionString: h.databaseUrl });
  await pg.connect();
  const meter = new Meter(redis, pg, sim);
  const { key } = await h.tenant('member');
  const post = (path: string, body: unknown) => h.request('POST', path, { key, body });
  // The many small creates go through a lean keep-alive client: it shares this process's CPU with Baton.
  const client = httpClient(h.url, 50);
  const create = async (path: string, body: unknown): Promise<void> => {
    const res = await client.post(path, body, { authorization: `Bearer ${key}` });
    if (res.status !== 202) throw new Error(`${path}: ${res.status} ${res.body}`);
  };
  const count = async (sql: string): Promise<number> => Number((await pg.query(sql)).rows[0].n);
  const until = (sql: string, n: number, what: string, db: Client = pg) => {
    let seen = 0;
    return pollUntil(async () => (seen = Number((await db.query(sql)).rows[0].n)) >= n, {
      everyMs: 200,
      stalledMs: 60_000,
      progress: () => seen,
      what,
    });
  };
  let gpu: GpuWorkerHandle | undefined;
  console.log(`# costs: load average at start ${load()}`);
  try {
    // Tasks: noop, no notify.
    let a = await meter.snapshot();
    for (let i = 0; i < TASKS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, TASKS - i) }, () => create('/v1/tasks', { handler: 'noop' })),
      );
    }
    await until(`SELECT count(*) AS n FROM tasks WHERE status = 'succeeded'`, TASKS, 'the tasks');
    await meter.settle();
    report('noop tasks', 'task', TASKS, a, await meter.snapshot());

    // Batch items: first waiting on a cluster that keeps them SUBMITTED (Redis while waiting), then to the end.
    a = await meter.snapshot();
    const items = Array.from({ length: ITEMS }, (_, i) => ({ i, input: `s3://bucket/part-${i}` }));
    const policy = { backoff: { baseMs: 50, maxMs: 200 } };
    const r = await post('/v1/batches', { items, policy });
    if (r.status !== 202) throw new Error(`batch: ${r.status} ${JSON.stringify(r.body)}`);
    await until(`SELECT count(*) AS n FROM batch_jobs WHERE status = 'succeeded'`, ITEMS, 'the batch items to succeed');
    await meter.settle();
    report('batch items (cluster at zero latency)', 'item', ITEMS, a, await meter.snapshot());
    // Waiting: a deployment of its own on a cluster that keeps every run SUBMITTED for an hour; the default policy
    // (status checks backed off from 1 s to 60 s), as in production.
    const w = await startBaton({
      REDIS_URL: redisServer.url,
      CLUSTER_URL: `http://127.0.0.1:${slowSimPort}`,
      RATE_LIMIT_PER_SECOND: '100000',
    });
    try {
      const wk = (await w.tenant('member')).key;
      const before = await meter.snapshot();
      const waiting = await w.request('POST', '/v1/batches', { key: wk, body: { items } });
      if (waiting.status !== 202) throw new Error(`batch: ${waiting.status}`);
      const wpg = new Client({ connectionString: w.databaseUrl });
      await wpg.connect();
      await until(
        `SELECT count(*) AS n FROM batch_jobs WHERE cluster_job_id IS NOT NULL`,
        ITEMS,
        'every item submitted',
        wpg,
      );
      await wpg.end();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const held = await meter.snapshot();
      console.log(
        `\n## batch items waiting on the cluster: Redis bytes per item ${Math.round((held.redisBytes - before.redisBytes) / ITEMS)} (load average ${load()})`,
      );
    } finally {
      await w.close();
    }

    // Inference: items queued with no GPU worker (Redis while waiting), then run.
    a = await meter.snapshot();
    const JOB = 16;
    for (let j = 0; j < INFERENCE; j += JOB) {
      const inputs = Array.from({ length: Math.min(JOB, INFERENCE - j) }, (_, i) => ({
        image: pngBase64(120, 30, j + i),
      }));
      const res = await post('/v1/inference/jobs', { model: 'text-direction', inputs });
      if (res.status !== 202) throw new Error(`inference: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const queued = await meter.snapshot();
    gpu = await startGpuWorker(h.runtime);
    await until(`SELECT count(*) AS n FROM inference_items WHERE status = 'succeeded'`, INFERENCE, 'inference');
    await meter.settle();
    report('inference items (text-direction, CPU provider)', 'item', INFERENCE, a, await meter.snapshot(), queued);

    // Schedules: one-second noop schedules for a while; per fire (a run, its task).
    a = await meter.snapshot();
    const ids: string[] = [];
    for (let i = 0; i < SCHEDULES; i++) {
      const s = await post('/v1/schedules', {
        name: `cost-${i}`,
        everyMs: 1000,
        target: { type: 'task', handler: 'noop' },
      });
      if (s.status !== 201) throw new Error(`schedule: ${s.status} ${JSON.stringify(s.body)}`);
      ids.push(s.body.id);
    }
    const created = await meter.snapshot();
    console.log(
      `\n## schedules: Redis bytes per active schedule ${Math.round((created.redisBytes - a.redisBytes) / SCHEDULES)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, SCHEDULE_SECONDS * 1000));
    for (const id of ids) await post(`/v1/schedules/${id}/pause`, {});
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const fires = await count(`SELECT count(*) AS n FROM schedule_runs`);
    await meter.settle();
    report('schedule fires (noop task target)', 'fire', fires, created, await meter.snapshot());

    // Notifications: tasks with a webhook; per delivery (the task's own cost is in the first table).
    a = await meter.snapshot();
    for (let i = 0; i < DELIVERIES; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, DELIVERIES - i) }, () =>
          create('/v1/tasks', { handler: 'noop', notify: { webhook: { url: `${receiver.url}/hook` } } }),
        ),
      );
    }
    await until(
      `SELECT count(*) AS n FROM notification_deliveries WHERE status = 'delivered'`,
      DELIVERIES,
      'the deliveries',
    );
    await meter.settle();
    report('tasks with a webhook (task + outbox event + delivery)', 'delivery', DELIVERIES, a, await meter.snapshot());
  } finally {
    await gpu?.close();
    client.close();
    await pg.end();
    redis.disconnect();
    await h.close();
    await receiver.close();
    sim.kill('SIGTERM');
    slowSim.kill('SIGTERM');
    await redisServer.stop();
  }
  console.log(`\n# load average at end ${load()}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
