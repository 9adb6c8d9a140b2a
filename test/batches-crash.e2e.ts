// Crash recovery of batches (issue 3, item 8), from outside: the API in this process, the worker as a real process
// (`node dist/apps/worker/src/main.js`), the cluster simulator in this process injecting faults. The worker is killed
// with SIGKILL in the middle of a 2,000-item batch and a new one started; the batch must still finish, with every item
// accounted for once, no cluster job started twice for one attempt, and exactly one completion event.
// The simulator does not dedupe by client token here, so a second submit of a token shows as a second job. One case
// is left to the cluster's dedupe, as API.md's contract has it: a submit the cluster accepted while the worker died,
// before Postgres held the job id, is sent again with the same token after the restart. A proxy in front of the
// simulator tells those apart from any other repeat, which fails the test.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { startSimulator, type RunningSimulator } from '@baton/cluster';
import { rand, startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';

const WORKER_MAIN = 'dist/apps/worker/src/main.js';
const ITEMS = 2_000;
const MAX_ATTEMPTS = 3;
/** Items finished (succeeded or failed) when the worker is killed: some done, most not. */
const KILL_AFTER_FINISHED = 100;
/**
 * After the restart: a killed worker's active BullMQ jobs come back only once their lock expires and a stalled-job
 * check runs (30 s each by default), and stuck runs take their stuck bound per attempt.
 */
const TERMINAL_WITHIN_MS = 150_000;
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  // Last registered, first undone: workers before the harness (which drops the database), the simulator last.
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

interface SpawnedWorker {
  child: ChildProcess;
  exited: Promise<number | string | null>;
  /** The end of its stdout and stderr, for failure messages. */
  tail(): string;
}

function spawnWorker(env: Record<string, string>): SpawnedWorker {
  const child = spawn(process.execPath, ['--enable-source-maps', WORKER_MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  });
  return { child, exited, tail: () => out };
}

interface TappedSubmission {
  token: string;
  jobUuid: string;
  status: number;
  /** When the request reached the tap, and when the simulator's answer did. */
  sentAt: number;
  at: number;
}

/**
 * A pass-through proxy in front of the simulator that notes every `POST /jobs` (client token, answer, time): the
 * simulator counts jobs per token, this says which tokens and when, should a double submit get through.
 */
async function startTap(
  target: string,
): Promise<{ url: string; submissions: TappedSubmission[]; close(): Promise<void> }> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const submissions: TappedSubmission[] = [];
  const server: Server = createServer((req, res) => {
    const sentAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = httpRequest(
        {
          agent,
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          if (req.method !== 'POST' || req.url !== '/jobs') {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
            return;
          }
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            const text = Buffer.concat(answer);
            submissions.push({
              token: field(body, 'clientToken'),
              jobUuid: field(text, 'jobUuid'),
              status: up.statusCode ?? 0,
              sentAt,
              at: Date.now(),
            });
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    submissions,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function field(json: Buffer, name: string): string {
  try {
    return String((JSON.parse(json.toString('utf8')) as Record<string, unknown>)[name]);
  } catch {
    return '<unparsable>';
  }
}

/** What Postgres held just after the kill: cluster job ids, and attempts made per batch job. */
interface Recorded {
  clusterJobIds: Set<string>;
  attempts: Map<string, number>;
}

/**
 * Whether Postgres knew of this submission after the kill: its cluster job id was stored, or (where the token reads
 * as Baton's `<jobId>.<generation>.<attempt>`) the job had already counted this attempt as made.
 */
function recorded(s: TappedSubmission, at: Recorded): boolean {
  if (at.clusterJobIds.has(s.jobUuid)) return true;
  const token = /^(.+)\.(\d+)\.(\d+)$/.exec(s.token);
  return token !== null && (at.attempts.get(token[1]) ?? 0) >= Number(token[3]);
}

/**
 * Client tokens that started more than one cluster job, by cause. A lost answer: sent by the killed worker (before the
 * new one started) and not recorded in Postgres after the kill, then sent once more by the new worker. Anything else
 * (a submission Postgres knew of, or a token repeated by one live worker) is unexplained. Each is described by when
 * its accepted submits were sent and answered, from the kill.
 */
function classifyRepeats(
  submissions: TappedSubmission[],
  times: { killedAt: number; restartedAt: number },
  atKill: Recorded,
): { lostAnswers: string[]; unexplained: string[] } {
  const byToken = new Map<string, TappedSubmission[]>();
  for (const s of submissions) {
    if (s.status >= 200 && s.status < 300) byToken.set(s.token, [...(byToken.get(s.token) ?? []), s]);
  }
  const lostAnswers: string[] = [];
  const unexplained: string[] = [];
  for (const [token, subs] of byToken) {
    if (subs.length < 2) continue;
    const [first, second] = subs;
    const each = subs.map(
      (s) =>
        `sent ${s.sentAt - times.killedAt} ms, answered ${s.at - times.killedAt} ms` +
        (recorded(s, atKill) ? ' (recorded)' : ''),
    );
    const lost =
      subs.length === 2 &&
      first.sentAt < times.restartedAt &&
      second.sentAt >= times.restartedAt &&
      !recorded(first, atKill);
    (lost ? lostAnswers : unexplained).push(`${token}: ${each.join('; ')}`);
  }
  return { lostAnswers, unexplained };
}

/** Jobs of every queue under the prefix that are active (locked by a worker, dead or alive), by key. */
async function activeJobs(redis: IORedis, prefix: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*:active`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const n = await redis.llen(key);
      if (n > 0) found[key] = n;
    }
  } while (cursor !== '0');
  return found;
}

describe('a batch survives its worker being killed with SIGKILL', () => {
  test('2,000 items under cluster faults: all accounted for once, no double submit, one completion event', async (t) => {
    const sim: RunningSimulator = await startSimulator({
      seed: `crash-${rand(3)}`,
      queueMs: { min: 20, max: 200 },
      runMs: { min: 20, max: 200 },
      errorRate: 0.1,
      burst429Rate: 0.05,
      retryAfterSec: 1,
      failRate: 0.05,
      stuckRate: 0.02,
      timeoutRate: 0,
      dedupeByClientToken: false,
    });
    cleanups.push(() => sim.close());
    const tap = await startTap(sim.url);
    cleanups.push(() => tap.close());

    const secret = `cb_${rand(12)}`;
    const settings = { CLUSTER_URL: tap.url, CLUSTER_CALLBACK_SECRET: secret };
    const h: Harness = await startBaton(settings, { worker: false });
    cleanups.push(() => h.close());
    // Hybrid: callbacks short-cut the wait, a tenth of them are lost, polling must cover for those.
    sim.configure({ callbacks: { url: `${h.url}/v1/cluster/callbacks`, secret, dropRate: 0.1 } });

    const pg = new Client({ connectionString: h.databaseUrl });
    await pg.connect();
    cleanups.push(() => pg.end());
    const redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    cleanups.push(() => Promise.resolve(redis.disconnect()));

    const workerEnv = {
      ...settings,
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: h.prefix,
      ADMIN_API_KEY: h.adminKey,
      LOG_LEVEL: process.env.WORKER_LOG_LEVEL ?? 'warn',
      RECONCILE_INTERVAL_MS: '60000',
      // The killed worker's active steps come back after their lock lapses: 10 s instead of the default 30 s.
      CLUSTER_LOCK_MS: '10000',
    };
    const startWorkerProcess = async (): Promise<SpawnedWorker> => {
      const w = spawnWorker(workerEnv);
      let gone: number | string | null | undefined;
      void w.exited.then((code) => (gone = code));
      await waitFor(
        async () => {
          if (gone !== undefined) throw new Error(`worker exited (${gone}) while starting:\n${w.tail()}`);
          const { rows } = await pg.query('SELECT 1 FROM workers WHERE pid = $1', [w.child.pid]);
          return rows.length > 0;
        },
        60_000,
        'the worker process to register',
      );
      return w;
    };

    const { key } = await h.tenant();
    const batchGet = async (id: string) => {
      const r = await h.request('GET', `/v1/batches/${id}`, { key });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };

    const first = await startWorkerProcess();
    const created = await h.request('POST', '/v1/batches', {
      key,
      body: {
        name: 'crash',
        items: Array.from({ length: ITEMS }, (_, i) => ({ i })),
        policy: {
          maxAttempts: MAX_ATTEMPTS,
          backoff: { baseMs: 50, maxMs: 1000, jitter: 'full' },
          stuckAfterMs: { submitted: 2000, running: 2000 },
        },
      },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id: string = created.body.id;
    assert.match(id, /^bat_/);

    // Kill once some items are finished, while most are not.
    const atKill = await waitFor(
      async () => {
        const b = await batchGet(id);
        return b.counts.succeeded + b.counts.failed >= KILL_AFTER_FINISHED ? b : undefined;
      },
      60_000,
      `${KILL_AFTER_FINISHED} items to finish before the kill`,
    );
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    assert.equal(await first.exited, 'SIGKILL');
    const finishedAtKill = atKill.counts.succeeded + atKill.counts.failed;
    assert.ok(
      finishedAtKill < ITEMS / 2,
      `the kill came too late to test anything: ${JSON.stringify(atKill.counts)} finished already`,
    );
    const submittedBeforeKill = tap.submissions.length;
    // What Postgres knew of cluster jobs when the worker died (a statement it had sent may still commit: let it).
    await new Promise((r) => setTimeout(r, 1_000));
    const { rows: known } = await pg.query<{ id: string; attempts: number; clusterJobId: string | null }>(
      'SELECT id, attempts, cluster_job_id AS "clusterJobId" FROM batch_jobs WHERE batch_id = $1',
      [id],
    );
    const recordedAtKill: Recorded = {
      clusterJobIds: new Set(known.flatMap((r) => (r.clusterJobId ? [r.clusterJobId] : []))),
      attempts: new Map(known.map((r) => [r.id, r.attempts])),
    };

    const restartedAt = Date.now();
    const second = await startWorkerProcess();
    let secondGone: number | string | null | undefined;
    void second.exited.then((code) => (secondGone = code));
    let last: any;
    const done = await waitFor(
      async () => {
        if (secondGone !== undefined) throw new Error(`the new worker exited (${secondGone}):\n${second.tail()}`);
        last = await batchGet(id);
        return TERMINAL.includes(last.status) ? last : undefined;
      },
      TERMINAL_WITHIN_MS,
      'the batch to end after the restart',
    ).catch((error: Error) => {
      throw new Error(
        `${error.message}; last read ${JSON.stringify(last)}; simulator ${JSON.stringify(sim.stats())}; ` +
          `new worker's output:\n${second.tail()}`,
      );
    });

    // The roll-up: a terminal batch with nothing in flight, counts adding up, status and outcome agreeing.
    const c = done.counts;
    assert.equal(c.total, ITEMS);
    assert.equal(c.queued, 0, JSON.stringify(c));
    assert.equal(c.running, 0, JSON.stringify(c));
    assert.equal(c.succeeded + c.failed + c.cancelled, ITEMS, JSON.stringify(c));
    assert.equal(c.cancelled, 0, `nothing was cancelled: ${JSON.stringify(c)}`);
    if (c.failed === 0) {
      assert.deepEqual([done.status, done.outcome], ['succeeded', 'all_succeeded']);
    } else {
      assert.deepEqual([done.status, done.outcome], ['failed', c.succeeded === 0 ? 'all_failed' : 'partial']);
    }

    // No item lost: the listing covers indexes 0..1999 exactly once, each finished, tallies equal to the counts.
    const seen = new Map<number, any>();
    const duplicates: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await h.request('GET', `/v1/batches/${id}/jobs?limit=1000${q}`, { key });
      assert.equal(page.status, 200, JSON.stringify(page.body));
      for (const job of page.body.data) {
        if (seen.has(job.index)) duplicates.push(job.index);
        seen.set(job.index, job);
      }
      cursor = page.body.nextCursor;
      assert.ok(++pages <= ITEMS, 'the listing ends');
    } while (cursor);
    assert.deepEqual(duplicates, [], 'no index is listed twice');
    const missing = Array.from({ length: ITEMS }, (_, i) => i).filter((i) => !seen.has(i));
    assert.deepEqual(missing, [], 'every index is listed');
    assert.equal(seen.size, ITEMS);
    const tally: Record<string, number> = {};
    const overAttempted: string[] = [];
    for (const job of seen.values()) {
      tally[job.status] = (tally[job.status] ?? 0) + 1;
      if (job.attempts > MAX_ATTEMPTS) overAttempted.push(`${job.index}:${job.attempts}`);
    }
    assert.deepEqual(
      tally,
      Object.fromEntries(Object.entries({ succeeded: c.succeeded, failed: c.failed }).filter(([, n]) => n > 0)),
      'job statuses agree with the counts',
    );
    assert.deepEqual(overAttempted, [], `no item runs more than maxAttempts (${MAX_ATTEMPTS}) times`);

    // The failed filter lists exactly the failed jobs, each with its last error.
    const failedPage = await h.request('GET', `/v1/batches/${id}/jobs?status=failed&limit=1000`, { key });
    assert.equal(failedPage.status, 200);
    assert.equal(failedPage.body.data.length, c.failed);
    for (const job of failedPage.body.data) {
      assert.equal(job.status, 'failed');
      assert.ok(job.lastError, `failed job ${job.index} carries its last error`);
    }
    if (c.failed > 0) {
      const errors = failedPage.body.data.map((j: any) => `${j.index}: ${JSON.stringify(j.lastError)}`);
      t.diagnostic(`failed for good (${MAX_ATTEMPTS} attempts): ${errors.slice(0, 5).join('; ')}`);
    }

    // Let every job the dead worker held come back through BullMQ's stalled check and run out, so that anything a
    // late re-run would do (a second submit, a second event) has happened before the last checks.
    let active: Record<string, number> = {};
    await waitFor(
      async () => {
        active = await activeJobs(redis, h.prefix);
        if (Object.keys(active).length > 0) return false;
        await new Promise((r) => setTimeout(r, 500));
        active = await activeJobs(redis, h.prefix);
        return Object.keys(active).length === 0;
      },
      90_000,
      'no BullMQ job to be active any more',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(active)}`);
    });

    // No cluster job was started twice for one attempt (one client token).
    const stats = sim.stats();
    t.diagnostic(
      `at the kill ${JSON.stringify(atKill.counts)}; terminal ${Date.now() - killedAt} ms after it: ` +
        `${done.status}/${done.outcome} ${JSON.stringify(c)}; simulator: ${stats.jobsCreated} jobs, ` +
        `${stats.submissionsReceived} submits (${submittedBeforeKill} before the kill), ${stats.sent5xx} 5xx, ` +
        `${stats.sent429} 429, ${stats.cancelsApplied} cancels applied, ${stats.callbacksSent} callbacks, ` +
        `max ${stats.maxJobsPerToken} job(s) per token`,
    );
    // A submit the cluster accepted in the last moments of the killed worker, whose answer died with it before
    // Postgres held the job id, is sent again with the same token: a cluster that dedupes by client token (API.md)
    // answers it with the same job; this one, deduping off, starts a second. Any other repeat is Baton's error.
    const { lostAnswers, unexplained } = classifyRepeats(tap.submissions, { killedAt, restartedAt }, recordedAtKill);
    t.diagnostic(
      `${lostAnswers.length} token(s) accepted just before the kill, answer lost, sent again after the restart` +
        (lostAnswers.length ? `: ${lostAnswers.slice(0, 5).join('; ')}` : ''),
    );
    assert.deepEqual(unexplained, [], 'no client token that Baton had recorded (or sent once) started a second job');
    assert.equal(
      stats.maxJobsPerToken,
      lostAnswers.length > 0 ? 2 : 1,
      `jobs per token as the simulator counts them, beside the tap's ${lostAnswers.length} lost answer(s)`,
    );
    assert.ok(stats.jobsCreated >= ITEMS, `every item reached the cluster: ${JSON.stringify(stats)}`);

    // Exactly one completion event, and the batch no longer changes.
    const { rows: events } = await pg.query<{ id: string }>(
      `SELECT id FROM notification_events WHERE type = 'batch.completed' AND subject_id = $1`,
      [id],
    );
    assert.equal(events.length, 1, `one batch.completed event, got ${events.length}`);
    const again = await batchGet(id);
    assert.deepEqual([again.status, again.outcome, again.counts], [done.status, done.outcome, done.counts]);
    assert.equal(secondGone, undefined, `the new worker is still running:\n${second.tail()}`);
  });
});
