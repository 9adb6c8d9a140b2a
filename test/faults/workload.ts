// The mixed workload every fault runs under, submitted as a client would (retrying with the same Idempotency-Key
// until the API accepts), and the checks made once everything has settled: Postgres is the truth for work, the
// simulator for cluster jobs, the receiver for webhook deliveries.
import { Client } from 'pg';
import type { RunningSimulator } from '@baton/cluster';
import { pngBase64 } from '@baton/inference';
import { rand, waitFor } from '../support/harness';
import type { Hit } from '../support/receiver';

/** Events the tenant subscribes to: one per unit of work that ends. */
const EVENTS = ['task.completed', 'batch.completed', 'inference.completed', 'schedule.run.completed'];
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** Schedule runs end in one of these (skipped: overlap policy). */
const RUN_TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

export interface WorkloadSize {
  tasks: number;
  /** Tasks submitted per second while the stream runs. */
  tasksPerSecond: number;
  batchItems: number;
  inferenceItems: number;
}

export const DEFAULT_SIZE: WorkloadSize = { tasks: 60, tasksPerSecond: 10, batchItems: 150, inferenceItems: 40 };

/** What the API accepted (answered 2xx for), by kind. */
export interface Accepted {
  tasks: string[];
  batches: string[];
  inference: string[];
  schedules: string[];
}

export interface TenantClient {
  url: string;
  key: string;
  tenantId: string;
}

interface Reply {
  status: number;
  body: any;
}

async function call(url: string, method: string, path: string, key: string, body?: unknown, headers = {}) {
  const res = await fetch(url + path, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const reply: Reply = { status: res.status, body: text ? JSON.parse(text) : undefined };
  return reply;
}

/**
 * A create request sent until it is accepted, always with the same Idempotency-Key: through a killed API (connection
 * refused or reset), a 503 while Postgres is away, a 409 while the first try is still in progress. Gives up (null)
 * after `giveUpMs`.
 */
export async function createWithRetry(c: TenantClient, path: string, body: unknown, giveUpMs = 120_000) {
  const headers = { 'idempotency-key': `faults-${rand(8)}` };
  const until = Date.now() + giveUpMs;
  for (;;) {
    try {
      const r = await call(c.url, 'POST', path, c.key, body, headers);
      if (r.status >= 200 && r.status < 300) return r.body as { id: string };
      if (r.status < 500 && r.status !== 409 && r.status !== 429) {
        throw new Error(`POST ${path} refused: ${r.status} ${JSON.stringify(r.body)}`);
      }
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('POST ')) throw error;
    }
    if (Date.now() > until) return null;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function newTenant(url: string, adminKey: string, receiverUrl: string): Promise<TenantClient> {
  const t = await call(url, 'POST', '/v1/tenants', adminKey, { name: `faults-${rand(3)}` });
  const k = await call(url, 'POST', `/v1/tenants/${t.body.id}/api-keys`, adminKey, { role: 'member' });
  const c = { url, key: k.body.secret as string, tenantId: t.body.id as string };
  const sub = await call(url, 'POST', '/v1/subscriptions', c.key, { events: EVENTS, webhook: { url: receiverUrl } });
  if (sub.status !== 201) throw new Error(`subscription: ${sub.status} ${JSON.stringify(sub.body)}`);
  return c;
}

/** Submits the workload; resolves once every submission was accepted (or given up on). */
export async function runWorkload(c: TenantClient, size: WorkloadSize): Promise<Accepted> {
  const accepted: Accepted = { tasks: [], batches: [], inference: [], schedules: [] };
  const keep = (list: string[]) => (r: { id: string } | null) => void (r && list.push(r.id));
  const schedule = createWithRetry(c, '/v1/schedules', {
    name: 'faults-every-second',
    everyMs: 1000,
    target: { type: 'task', handler: 'sleep', payload: { ms: 100, steps: 1 } },
  }).then(keep(accepted.schedules));
  const batch = createWithRetry(c, '/v1/batches', {
    name: 'faults',
    items: Array.from({ length: size.batchItems }, (_, i) => ({ i })),
    policy: {
      maxAttempts: 3,
      backoff: { baseMs: 200, maxMs: 1000, jitter: 'full' },
      stuckAfterMs: { submitted: 30_000, running: 30_000 },
    },
  }).then(keep(accepted.batches));
  const inference = createWithRetry(c, '/v1/inference/jobs', {
    model: 'text-direction',
    inputs: Array.from({ length: size.inferenceItems }, (_, i) => ({ image: pngBase64(120, 30, i + 1) })),
  }).then(keep(accepted.inference));
  const tasks: Promise<void>[] = [];
  for (let i = 0; i < size.tasks; i++) {
    tasks.push(
      createWithRetry(c, '/v1/tasks', { handler: 'sleep', payload: { ms: 200, steps: 2 } }).then(keep(accepted.tasks)),
    );
    await new Promise((r) => setTimeout(r, 1000 / size.tasksPerSecond));
  }
  await Promise.all([schedule, batch, inference, ...tasks]);
  return accepted;
}

/** Stops the schedule from firing again (retried like a create), so the set of runs to check is finite. */
export async function pauseSchedules(c: TenantClient, accepted: Accepted): Promise<void> {
  for (const id of accepted.schedules) {
    await waitFor(
      () =>
        call(c.url, 'POST', `/v1/schedules/${id}/pause`, c.key).then(
          (r) => r.status >= 200 && r.status < 300,
          () => false,
        ),
      120_000,
      `schedule ${id} to pause`,
    );
  }
}

export interface Tally {
  accepted: number;
  finished: number;
  duplicates: number;
  lost: number;
  events: number;
  delivered: number;
  redeliveries: number;
  /** What went wrong, in words (empty when nothing did). */
  problems: string[];
}

interface Snapshot {
  open: string[];
  tally: Tally;
}

/** Reads the truth once: which accepted units are not terminal yet, and the tally so far. */
async function snapshot(
  databaseUrl: string,
  c: TenantClient,
  accepted: Accepted,
  sim: RunningSimulator,
  hits: Hit[],
): Promise<Snapshot> {
  const db = new Client({ connectionString: databaseUrl });
  db.on('error', () => undefined);
  await db.connect();
  try {
    return await readTruth(db, c, accepted, sim, hits);
  } finally {
    await db.end().catch(() => undefined);
  }
}

async function readTruth(
  db: Client,
  c: TenantClient,
  accepted: Accepted,
  sim: RunningSimulator,
  hits: Hit[],
): Promise<Snapshot> {
  const open: string[] = [];
  const problems: string[] = [];
  let units = 0;
  let finished = 0;
  let duplicates = 0;
  const count = (status: string, id: string, terminal = TERMINAL) => {
    units++;
    if (terminal.has(status)) finished++;
    else open.push(id);
  };

  // Tasks asked for by the client: each once, each terminal.
  const tasks = await db.query<{ id: string; status: string }>(
    `SELECT id, status::text AS status FROM tasks WHERE tenant_id = $1`,
    [c.tenantId],
  );
  const asked = new Set(accepted.tasks);
  const byId = new Map(tasks.rows.map((t) => [t.id, t]));
  for (const id of asked) count(byId.get(id)?.status ?? 'missing', id);

  // Batch items: each terminal; counters add up and agree with the items; one cluster job per recorded attempt.
  let attempts = 0;
  for (const id of accepted.batches) {
    const b = await db.query(
      `SELECT status::text AS status, total, queued, running, succeeded, failed, cancelled FROM batches WHERE id = $1`,
      [id],
    );
    const items = await db.query<{ id: string; status: string; attempts: number }>(
      `SELECT id, status::text AS status, attempts FROM batch_jobs WHERE batch_id = $1`,
      [id],
    );
    for (const item of items.rows) {
      count(item.status, item.id);
      attempts += item.attempts;
    }
    const row = b.rows[0];
    if (!row) {
      problems.push(`batch ${id} accepted but not stored`);
      continue;
    }
    const sum = row.queued + row.running + row.succeeded + row.failed + row.cancelled;
    if (sum !== row.total || row.total !== items.rows.length) {
      problems.push(`batch ${id} counts do not add up: ${JSON.stringify(row)} for ${items.rows.length} items`);
    }
    for (const s of ['queued', 'running', 'succeeded', 'failed', 'cancelled']) {
      const n = items.rows.filter((i) => i.status === s).length;
      if (n !== row[s]) problems.push(`batch ${id}: ${n} items ${s}, counters say ${row[s]}`);
    }
  }
  const extraJobs = sim.stats().jobsCreated - attempts;
  if (extraJobs > 0) problems.push(`${extraJobs} cluster job(s) beyond the attempts Postgres recorded`);
  duplicates += Math.max(0, extraJobs);

  // Inference items: each terminal, counters adding up.
  for (const id of accepted.inference) {
    const items = await db.query<{ index: number; status: string }>(
      `SELECT index, status::text AS status FROM inference_items WHERE job_id = $1`,
      [id],
    );
    for (const item of items.rows) count(item.status, `${id}#${item.index}`);
    if (items.rows.length === 0) problems.push(`inference job ${id} accepted but has no items`);
  }

  // Schedule runs: each terminal with its target terminal (one run per instant is a unique key in Postgres).
  const runs = await db.query<{ id: string; status: string; target: string | null }>(
    `SELECT r.id, r.status, r.target_id AS target FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id
     WHERE s.tenant_id = $1`,
    [c.tenantId],
  );
  for (const run of runs.rows) {
    const target = run.target ? byId.get(run.target) : undefined;
    const done = RUN_TERMINAL.has(run.status) && (!target || TERMINAL.has(target.status));
    count(done ? run.status : 'open', run.id, RUN_TERMINAL);
  }
  // A task that neither an accepted request nor a run names: a retried create the Idempotency-Key did not recognise,
  // or a run that created its task twice.
  const targets = new Set(runs.rows.map((r) => r.target));
  const unasked = tasks.rows.filter((t) => !asked.has(t.id) && !targets.has(t.id));
  if (unasked.length > 0) problems.push(`${unasked.length} task(s) created that no accepted request or run names`);
  duplicates += unasked.length;

  // Events: at most one per unit (the outbox dedupes by cause), each delivered to the receiver (at least once, one
  // webhook-id across its retries).
  const events = await db.query<{ id: string; type: string; subject: string }>(
    `SELECT id, type, subject_id AS subject FROM notification_events WHERE tenant_id = $1 AND type = ANY($2)`,
    [c.tenantId, EVENTS],
  );
  const perSubject = new Map<string, number>();
  for (const e of events.rows)
    perSubject.set(`${e.type}:${e.subject}`, (perSubject.get(`${e.type}:${e.subject}`) ?? 0) + 1);
  const doubled = [...perSubject.values()].filter((n) => n > 1).length;
  if (doubled > 0) problems.push(`${doubled} unit(s) announced more than once`);
  duplicates += doubled;
  const ids = new Set(events.rows.map((e) => e.id));
  const received = new Map<string, number>();
  for (const hit of hits) {
    const id = String(hit.headers['webhook-id'] ?? '');
    if (ids.has(id)) received.set(id, (received.get(id) ?? 0) + 1);
  }
  const delivered = received.size;
  const redeliveries = [...received.values()].reduce((n, k) => n + k - 1, 0);
  for (const e of events.rows) if (!received.has(e.id)) open.push(`event ${e.type} ${e.subject}`);
  // Every accepted task, batch and inference job that ended must have announced it.
  for (const [type, list] of [
    ['task.completed', accepted.tasks],
    ['batch.completed', accepted.batches],
    ['inference.completed', accepted.inference],
  ] as const) {
    for (const id of list) if (!perSubject.has(`${type}:${id}`)) open.push(`no ${type} event for ${id}`);
  }
  return {
    open,
    tally: {
      accepted: units,
      finished,
      duplicates,
      lost: units - finished,
      events: events.rows.length,
      delivered,
      redeliveries,
      problems,
    },
  };
}

/** Units of work not yet terminal (tasks, batch items, inference items): the fault must strike while some are. */
export async function openWork(databaseUrl: string): Promise<number> {
  const db = new Client({ connectionString: databaseUrl });
  db.on('error', () => undefined);
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM tasks WHERE status IN ('queued', 'running'))
            + (SELECT count(*) FROM batch_jobs WHERE status IN ('queued', 'running'))
            + (SELECT count(*) FROM inference_items WHERE status IN ('queued', 'running')) AS n`,
    );
    return Number(rows[0].n);
  } finally {
    await db.end().catch(() => undefined);
  }
}

/**
 * Waits until every accepted unit is terminal and every event reached the receiver, or `timeoutMs` passes; then
 * returns the tally, with whatever is still open counted as lost.
 */
export async function settle(
  databaseUrl: string,
  c: TenantClient,
  accepted: Accepted,
  sim: RunningSimulator,
  hits: Hit[],
  timeoutMs: number,
): Promise<Tally> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshot(databaseUrl, c, accepted, sim, hits).catch(() => undefined);
    if (s && (s.open.length === 0 || Date.now() > until)) {
      const undelivered = s.open.filter((o) => o.startsWith('event ') || o.startsWith('no '));
      if (s.open.length > 0)
        s.tally.problems.push(`still open after ${timeoutMs} ms: ${s.open.slice(0, 5).join(', ')}`);
      s.tally.lost += undelivered.length;
      return s.tally;
    }
    if (!s && Date.now() > until) throw new Error('Postgres could not be read to settle the tally');
    await new Promise((r) => setTimeout(r, 1000));
  }
}
