// `npm run bench:fairness`: fair sharing between tenants at full size, on Baton as deployed (an API process and a
// worker process), each figure taken twice in the same run: with fair dispatch (FAIR_QUEUES=tasks,cluster) and with
// the plain queue (FAIR_QUEUES=none).
//
//   (1) Tenant A submits one batch of BENCH_A_ITEMS (100,000) items to the cluster simulator (in this process, zero
//       latency; CLUSTER_MAX_IN_FLIGHT BENCH_WINDOW, 500); once A's items run, tenant B submits a batch of BENCH_B_ITEMS (100). Reported: B's completion time.
//       Target: bounded by B's share (seconds), not by A's backlog.
//   (2) Tenants A (weight 3) and B (weight 1) each post BENCH_TASKS (20,000) `noop` tasks with no worker running; the
//       worker then starts and drains both backlogs. Reported: each one's tasks done when half of all are done (both
//       still saturating). Target: 3:1 within 10%.
//   (3) The same drain with one tenant alone: its throughput, beside both's: alone, a tenant gets the whole capacity.
//   (4) The fair dispatcher's cost: end-to-end tasks/s of (2) (posting and draining, one after the other) with fair
//       dispatch over the same with the plain queue. Target: at least 0.85. Fair dispatch moves a task's BullMQ add
//       from posting (plain) to admission (during the drain), so the drain alone is shown too but is not the measure.
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { startSimulator } from '@baton/cluster';
import { asProcesses, type Deployment } from './deployment';
import { httpClient, intFromEnv, round, runPool, table } from './support';

const A_ITEMS = intFromEnv('BENCH_A_ITEMS', 100_000);
const B_ITEMS = intFromEnv('BENCH_B_ITEMS', 100);
const TASKS = intFromEnv('BENCH_TASKS', 20_000);
const CLIENTS = intFromEnv('BENCH_CLIENTS', 16);
/** CLUSTER_MAX_IN_FLIGHT: the cluster's capacity for us, i.e. the cluster queue's fair window. */
const WINDOW = intFromEnv('BENCH_WINDOW', 500);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function admin(d: Deployment, method: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(d.url + path, {
    method,
    headers: { authorization: `Bearer ${d.adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function tenant(d: Deployment, name: string, weight?: number): Promise<{ id: string; key: string }> {
  const t = await admin(d, 'POST', '/v1/tenants', { name });
  if (weight) await admin(d, 'PUT', `/v1/tenants/${t.id}/limits`, { weight });
  const k = await admin(d, 'POST', `/v1/tenants/${t.id}/api-keys`, { role: 'member' });
  return { id: t.id, key: k.secret };
}

function settings(fair: boolean, clusterUrl = ''): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    FAIR_QUEUES: fair ? 'tasks,cluster' : 'none',
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    BACKLOG_LIMIT: '100000000',
    CLUSTER_URL: clusterUrl,
    CLUSTER_MAX_IN_FLIGHT: String(WINDOW),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** (1): seconds from B's POST to B's batch being terminal, while A's 100,000 items are under way. */
async function smallBehindBig(fair: boolean, clusterUrl: string): Promise<{ bSeconds: number; aDoneAtB: number }> {
  const d = await asProcesses(settings(fair, clusterUrl));
  try {
    const a = await tenant(d, 'big');
    const b = await tenant(d, 'small');
    const http = httpClient(d.url, 4);
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    const post = async (key: string, n: number) => {
      const r = await http.post(
        '/v1/batches',
        { items: items(n), policy: { backoff: { baseMs: 50, maxMs: 1000 } } },
        {
          authorization: `Bearer ${key}`,
        },
      );
      if (r.status !== 202) throw new Error(`batch answered ${r.status}: ${r.body}`);
      return (JSON.parse(r.body) as { id: string }).id;
    };
    const get = async (key: string, id: string) => {
      const res = await fetch(`${d.url}/v1/batches/${id}`, { headers: { authorization: `Bearer ${key}` } });
      return (await res.json()) as { outcome?: string; counts: { running: number; succeeded: number } };
    };
    const big = await post(a.key, A_ITEMS);
    while ((await get(a.key, big)).counts.succeeded < 1000) await sleep(100);
    const started = Date.now();
    const small = await post(b.key, B_ITEMS);
    while (!(await get(b.key, small)).outcome) await sleep(50);
    const bSeconds = (Date.now() - started) / 1000;
    const aDoneAtB = (await get(a.key, big)).counts.succeeded;
    http.close();
    return { bSeconds, aDoneAtB };
  } finally {
    await d.close();
  }
}

/** Posts `n` noop tasks for a tenant with CLIENTS concurrent HTTP clients. */
async function post(d: Deployment, key: string, n: number): Promise<void> {
  const http = httpClient(d.url, CLIENTS);
  await runPool(CLIENTS, n, async () => {
    for (;;) {
      const r = await http.post('/v1/tasks', { handler: 'noop' }, { authorization: `Bearer ${key}` });
      if (r.status === 202) return;
      await sleep(50); // 503 overloaded: try again, as a client does
    }
  });
  http.close();
}

interface Drain {
  /** Tasks/s from the worker's start to the last task done. */
  perSecond: number;
  /** Tasks done per tenant when half of all the tasks were done. */
  atHalf: number[];
}

/**
 * Each tenant's backlog of TASKS noop tasks is posted with no worker running; then the worker starts and drains
 * them. The execution path alone is timed (its throughput with fair dispatch against the plain queue is the
 * dispatcher's cost), and each tenant's share is read when half of all tasks are done (both still saturating).
 */
async function drain(fair: boolean, weights: number[]): Promise<Drain & { postPerSecond: number }> {
  const d = await asProcesses(settings(fair), { worker: false });
  const db = new Client({ connectionString: d.databaseUrl });
  try {
    await db.connect();
    const tenants: { id: string; key: string }[] = [];
    for (const [i, w] of weights.entries()) tenants.push(await tenant(d, `t${i}`, w));
    const posting = Date.now();
    for (const t of tenants) await post(d, t.key, TASKS);
    const postPerSecond = (TASKS * tenants.length * 1000) / (Date.now() - posting);
    const total = TASKS * tenants.length;
    const done = async () => {
      const { rows } = await db.query<{ tenant_id: string; n: string }>(
        `SELECT tenant_id, count(*) AS n FROM tasks WHERE status = 'succeeded' GROUP BY tenant_id`,
      );
      return tenants.map((t) => Number(rows.find((r) => r.tenant_id === t.id)?.n ?? 0));
    };
    d.startWorker!();
    // The worker process needs a moment to start; the clock starts at its first finished task.
    let counts = await done();
    while (counts.every((n) => n === 0)) counts = (await sleep(20), await done());
    const started = Date.now();
    let atHalf: number[] | undefined;
    while (counts.reduce((a, b) => a + b, 0) < total) {
      await sleep(100);
      counts = await done();
      if (!atHalf && counts.reduce((a, b) => a + b, 0) >= total / 2) atHalf = counts;
    }
    return { perSecond: (total * 1000) / (Date.now() - started), atHalf: atHalf ?? counts, postPerSecond };
  } finally {
    await db.end().catch(() => undefined);
    await d.close();
  }
}

async function main(): Promise<void> {
  const sim = await startSimulator({
    seed: 1,
    queueMs: 0,
    runMs: 0,
    failRate: 0,
    stuckRate: 0,
    burst429Rate: 0,
    errorRate: 0,
    callbacks: null,
  });
  const loadBefore = load();
  const fairSmall = await smallBehindBig(true, sim.url);
  const plainSmall = await smallBehindBig(false, sim.url);
  await sim.close();
  const fairSplit = await drain(true, [3, 1]);
  const plainSplit = await drain(false, [3, 1]);
  const fairAlone = await drain(true, [1]);
  const plainAlone = await drain(false, [1]);
  const split = fairSplit.atHalf[0] / fairSplit.atHalf[1];
  // The whole path of a task, posting and draining: fair dispatch moves the BullMQ add from posting to admission.
  const endToEnd = (r: { perSecond: number; postPerSecond: number }) => 1 / (1 / r.perSecond + 1 / r.postPerSecond);
  const cost = endToEnd(fairSplit) / endToEnd(plainSplit);
  console.log(
    `\nfair sharing, API and worker processes; load average before ${loadBefore}, after ${load()}\n\n` +
      table(
        ['figure', 'fair', 'plain queue', 'target'],
        [
          [`(1) B's ${B_ITEMS} items done after (s)`, fairSmall.bSeconds, plainSmall.bSeconds, "B's share"],
          [`    A's items done by then (of ${A_ITEMS})`, fairSmall.aDoneAtB, plainSmall.aDoneAtB, ''],
          [`(2) A (weight 3) done at half of ${2 * TASKS}`, fairSplit.atHalf[0], plainSplit.atHalf[0], ''],
          ['    B (weight 1) done then', fairSplit.atHalf[1], plainSplit.atHalf[1], ''],
          ['    split A:B', split, plainSplit.atHalf[0] / plainSplit.atHalf[1], '3 ± 10%'],
          ['(3) both: drain tasks/s', fairSplit.perSecond, plainSplit.perSecond, ''],
          ['    one tenant alone: drain tasks/s', fairAlone.perSecond, plainAlone.perSecond, '≈ both'],
          ['(4) posting tasks/s (API)', fairSplit.postPerSecond, plainSplit.postPerSecond, ''],
          ['    end to end tasks/s (post, then drain)', endToEnd(fairSplit), endToEnd(plainSplit), ''],
          ['    end to end, fair / plain', cost, 1, '≥ 0.85'],
          ['    drain only, fair / plain', fairSplit.perSecond / plainSplit.perSecond, 1, ''],
        ],
      ),
  );
  console.log(
    JSON.stringify({
      bench: 'fairness',
      small: { fair: fairSmall, plain: plainSmall },
      split: { fair: fairSplit, plain: plainSplit },
      alone: { fair: fairAlone, plain: plainAlone },
      splitRatio: round(split),
      fairOverPlain: round(cost),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
