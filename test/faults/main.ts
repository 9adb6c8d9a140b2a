// The fault-injection suite (`npm run test:faults [name...]`): for each fault, Baton's three apps run as processes
// against a Postgres and a Redis of the suite's own, a mixed workload goes in (tasks, a batch on the cluster
// simulator, a schedule, an inference job; every completion announced to a webhook receiver), the fault strikes
// mid-work, and once everything settles the truth is read back: every accepted unit of work terminal exactly once,
// counts adding up, every event delivered (once by id; redeliveries of the same id are allowed and counted). Prints
// a table and exits 1 when any work was lost or duplicated, or a fault did not behave as documented.
import { resolve } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { startSimulator, type RunningSimulator } from '@baton/cluster';
import { startPrivateRedis } from '../support/redis';
import { startReceiver } from '../support/receiver';
import { deploy, startPrivatePostgres, type Deployment, type PrivatePostgres } from './stack';
import {
  DEFAULT_SIZE,
  newTenant,
  openWork,
  pauseSchedules,
  runWorkload,
  settle,
  type TenantClient,
  type Tally,
  type WorkloadSize,
} from './workload';

const SETTLE_MS = Number(process.env.FAULTS_SETTLE_MS ?? 150_000);
/** Into the workload before the fault strikes. */
const STRIKE_AFTER_MS = 2_500;

interface Context {
  d: Deployment;
  sim: RunningSimulator;
  redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  redisUrl: string;
  pg: PrivatePostgres;
  client: TenantClient;
  receiver: { hang(on: boolean): void };
  /** Fault-specific observations that must hold (an empty list when they do). */
  problems: string[];
}

interface Fault {
  name: string;
  size?: Partial<WorkloadSize>;
  strike(ctx: Context): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kill -9 one app, leave it down a moment, start it again. */
const killAndRestart =
  (pick: (d: Deployment) => Deployment['api'], downMs = 1_000) =>
  async ({ d }: Context) => {
    const app = pick(d);
    await app.kill9();
    await sleep(downMs);
    await d.restart(app);
  };

const FAULTS: Fault[] = [
  {
    name: 'kill -9 API mid-submit',
    // A faster stream: requests are in flight when the API dies; the client retries them with the same key.
    size: { tasks: 80, tasksPerSecond: 20 },
    strike: killAndRestart((d) => d.api),
  },
  { name: 'kill -9 worker mid-work', strike: killAndRestart((d) => d.worker) },
  {
    name: 'kill -9 GPU worker mid-inference',
    size: { inferenceItems: 400 },
    strike: killAndRestart((d) => d.gpu),
  },
  {
    name: 'Redis killed, restarted from its AOF',
    async strike({ redis }) {
      await redis.stop(); // SIGKILL: what the append-only file holds (fsync each second) is what comes back
      await sleep(2_000);
      await redis.start();
    },
  },
  {
    name: 'Redis FLUSHALL under running apps',
    async strike({ redisUrl }) {
      const r = new IORedis(redisUrl);
      await r.flushall();
      r.disconnect();
    },
  },
  {
    name: 'Postgres stopped for 30 s',
    async strike({ pg, d, client, problems }) {
      await pg.stop();
      const stoppedAt = Date.now();
      await sleep(1_000);
      // The API answers 503 `overloaded` (retryable) while Postgres is away.
      const r = await fetch(`${d.url}/v1/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ handler: 'noop' }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await r.json()) as { error?: { code?: string; retryable?: boolean } };
      if (r.status !== 503 || body.error?.code !== 'overloaded' || body.error.retryable !== true) {
        problems.push(`API answered ${r.status} ${JSON.stringify(body)} with Postgres down, not 503 overloaded`);
      }
      await sleep(Math.max(0, 30_000 - (Date.now() - stoppedAt)));
      await pg.start();
      for (const app of [d.api, d.worker, d.gpu]) {
        if (!app.running) problems.push(`the ${app.name} process exited while Postgres was away`);
      }
    },
  },
  {
    name: 'cluster 429 storm (10 s)',
    async strike({ sim }) {
      sim.configure({ burst429Rate: 0.7, retryAfterSec: 1 });
      await sleep(10_000);
      sim.configure({ burst429Rate: 0 });
    },
  },
  {
    name: 'cluster 5xx storm (10 s)',
    async strike({ sim }) {
      sim.configure({ errorRate: 0.7 });
      await sleep(10_000);
      sim.configure({ errorRate: 0 });
    },
  },
  {
    name: 'webhook receiver hangs (20 s)',
    async strike({ receiver }) {
      receiver.hang(true);
      await sleep(20_000);
      receiver.hang(false);
    },
  },
];

/** Settings that make recovery quick enough for a suite (locks, reconciler and retry rhythms in seconds). */
function settings(sim: RunningSimulator, secret: string): Record<string, string> {
  return {
    CLUSTER_URL: sim.url,
    CLUSTER_CALLBACK_SECRET: secret,
    CLUSTER_LOCK_MS: '5000',
    CLUSTER_TIMEOUT_MS: '3000',
    INFERENCE_LOCK_MS: '5000',
    INFERENCE_MODELS_FILE: resolve('models.json'),
    INFERENCE_THREADS: '1',
    NOTIFY_LOCK_MS: '5000',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
    NOTIFY_BACKOFF_BASE_MS: '200',
    NOTIFY_BACKOFF_MAX_MS: '2000',
    NOTIFY_TIMEOUT_MS: '2000',
    NOTIFY_MAX_ATTEMPTS: '50',
    RECONCILE_INTERVAL_MS: '2000',
    RECONCILE_GRACE_MS: '1000',
    TASK_BACKOFF_BASE_MS: '100',
    TASK_BACKOFF_MAX_MS: '1000',
    TASK_CONCURRENCY: '16',
    CLUSTER_CONCURRENCY: '100',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    RATE_LIMIT_PER_SECOND: '10000',
    DATABASE_POOL_SIZE: '5',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'baton-faults-data-')),
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
  };
}

interface Row extends Tally {
  fault: string;
  /** Units of work not yet terminal when the fault struck. */
  inFlight: number;
  seconds: number;
}

async function runFault(fault: Fault, pg: PrivatePostgres, redis: Context['redis']): Promise<Row> {
  const started = Date.now();
  let hanging = false;
  const receiver = await startReceiver(() => (hanging ? { status: 200, delayMs: 600_000 } : { status: 200 }));
  const secret = `cb_${Math.random().toString(36).slice(2)}`;
  const sim = await startSimulator({
    queueMs: { min: 50, max: 500 },
    runMs: { min: 300, max: 2_000 },
    failRate: 0.05,
    dedupeByClientToken: true,
  });
  let d: Deployment | undefined;
  try {
    d = await deploy(pg, redis.url, settings(sim, secret));
    sim.configure({ callbacks: { url: `${d.url}/v1/cluster/callbacks`, secret, dropRate: 0.2 } });
    const client = await newTenant(d.url, d.adminKey, `${receiver.url}/hooks`);
    const ctx: Context = {
      d,
      sim,
      redis,
      redisUrl: redis.url,
      pg,
      client,
      receiver: { hang: (on) => void (hanging = on) },
      problems: [],
    };
    const workload = runWorkload(client, { ...DEFAULT_SIZE, ...fault.size });
    await sleep(STRIKE_AFTER_MS);
    const inFlight = await openWork(d.databaseUrl);
    if (inFlight === 0) ctx.problems.push('the fault struck when no work was in flight: it tested nothing');
    await fault.strike(ctx);
    const accepted = await workload;
    await pauseSchedules(client, accepted);
    const tally = await settle(d.databaseUrl, client, accepted, sim, receiver.hits, SETTLE_MS);
    tally.problems.push(...ctx.problems);
    if (accepted.batches.length + accepted.inference.length + accepted.schedules.length < 3) {
      tally.problems.push(`not every kind of work was accepted: ${JSON.stringify(accepted)}`);
    }
    if (tally.problems.length > 0) {
      for (const app of [d.api, d.worker, d.gpu]) console.error(`--- ${app.name} output:\n${app.tail()}`);
    }
    return { fault: fault.name, inFlight, seconds: Math.round((Date.now() - started) / 1000), ...tally };
  } finally {
    await d?.close();
    await sim.close();
    await receiver.close();
  }
}

function printTable(rows: Row[]): void {
  const header = ['fault', 'in flight', 'accepted', 'finished', 'duplicates', 'lost', 'events', 'redeliveries', 's'];
  const lines = rows.map((r) => [
    r.fault,
    String(r.inFlight),
    String(r.accepted),
    String(r.finished),
    String(r.duplicates),
    String(r.lost),
    `${r.delivered}/${r.events}`,
    String(r.redeliveries),
    String(r.seconds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(row(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const l of lines) console.log(row(l));
  console.log(
    '\nin flight: units not yet terminal when the fault struck; accepted/finished: tasks, batch items, inference ' +
      'items and schedule runs; events: webhook ids received / completion events written; redeliveries: an id ' +
      'received again (at-least-once delivery, allowed); duplicates: work done or announced twice.',
  );
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2).map((f) => f.toLowerCase());
  const faults = FAULTS.filter((f) => filters.length === 0 || filters.some((x) => f.name.toLowerCase().includes(x)));
  const started = Date.now();
  const pg = await startPrivatePostgres();
  const redis = await startPrivateRedis({ appendOnly: true });
  const rows: Row[] = [];
  let failed = false;
  try {
    for (const fault of faults) {
      console.log(`# ${fault.name}`);
      const row = await runFault(fault, pg, redis).catch((error: Error) => {
        failed = true;
        console.error(`# ${fault.name}: ${error.stack ?? error.message}`);
        return undefined;
      });
      if (!row) continue;
      rows.push(row);
      for (const p of row.problems) console.log(`#   ${p}`);
      if (row.lost > 0 || row.duplicates > 0 || row.problems.length > 0) failed = true;
    }
  } finally {
    await redis.stop();
    await pg.close();
  }
  console.log('');
  printTable(rows);
  console.log(`\n${rows.length}/${faults.length} faults ran in ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(failed ? 1 : 0);
}

void main();
