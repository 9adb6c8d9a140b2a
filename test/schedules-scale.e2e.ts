import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { appEnv, startBaton, waitFor, type Harness } from './support/harness';

// Three worker processes against 200 one-second schedules for a minute: every expected run exactly once, with a
// worker restarted half way. Long by design (about 90 s).
const SCHEDULES = 200;
const SECONDS = 60;
// Ten timing groups of twenty (a zone does not move a fixed rate's instants, but it is part of the timing), so the
// workers share the groups' fire jobs, and each fire job fires twenty schedules.
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Chicago',
  'Asia/Tokyo',
  'Asia/Kolkata',
  'Australia/Sydney',
  'America/Sao_Paulo',
  'Africa/Nairobi',
];
const WORKER = 'dist/apps/worker/src/main.js';

let h: Harness;
const workers = new Set<ChildProcess>();

function spawnWorker(): ChildProcess {
  const child = spawn(process.execPath, [WORKER], {
    env: appEnv(h, {
      LOG_LEVEL: 'warn',
      RECONCILE_INTERVAL_MS: '60000',
      DATABASE_POOL_SIZE: '8',
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.add(child);
  child.on('exit', () => workers.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

before(async () => {
  h = await startBaton({}, { worker: false });
});
after(async () => {
  await Promise.all([...workers].map(stop));
  await h.close();
});

describe('no double fire, none missed', () => {
  test(`3 workers, ${SCHEDULES} one-second schedules, ${SECONDS} s: every expected run exactly once`, async () => {
    const { key } = await h.tenant('member');
    const startAt = new Date(Math.ceil((Date.now() + 12_000) / 1000) * 1000);
    const endAt = new Date(startAt.getTime() + SECONDS * 1000);
    const ids: string[] = [];
    for (let i = 0; i < SCHEDULES; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          h.request('POST', '/v1/schedules', {
            key,
            body: {
              name: `s${i + j}`,
              everyMs: 1000,
              timezone: ZONES[(i + j) % ZONES.length],
              startAt,
              endAt,
              overlap: 'allow',
              catchUp: { policy: 'all', maxRuns: 100 },
              target: { type: 'task', handler: 'noop' },
            },
          }),
        ),
      );
      for (const r of batch) {
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids.push(r.body.id);
      }
    }
    const procs = [spawnWorker(), spawnWorker(), spawnWorker()];
    // Half way through, one worker stops cleanly and another takes its place.
    await new Promise((r) => setTimeout(r, startAt.getTime() + (SECONDS / 2) * 1000 - Date.now()));
    await stop(procs[0]);
    spawnWorker();
    await new Promise((r) => setTimeout(r, endAt.getTime() + 2000 - Date.now()));

    const expected = SECONDS + 1; // startAt and endAt both fire
    const pool = h.runtime.prisma;
    let seen = 0;
    const counts = await waitFor(
      async () => {
        const rows = await pool.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM schedule_runs`;
        seen = rows[0].n;
        return rows[0].n >= SCHEDULES * expected ? rows[0].n : undefined;
      },
      60_000,
      'every run',
    ).catch(async (error: Error) => {
      const bySecond = await pool.$queryRaw<{ s: number; n: number }[]>`
        SELECT extract(epoch FROM scheduled_for - ${startAt}::timestamptz)::int AS s, count(*)::int AS n
        FROM schedule_runs GROUP BY 1 HAVING count(*) < ${SCHEDULES} ORDER BY 1`;
      throw new Error(
        `${error.message}: ${seen} of ${SCHEDULES * expected} runs; short seconds ${JSON.stringify(bySecond)}`,
      );
    });
    assert.equal(counts, SCHEDULES * expected);
    const perSchedule = await pool.$queryRaw<
      { schedule_id: string; n: number; distinct_times: number; lo: Date; hi: Date }[]
    >`
      SELECT schedule_id, count(*)::int AS n, count(DISTINCT scheduled_for)::int AS distinct_times,
             min(scheduled_for) AS lo, max(scheduled_for) AS hi
      FROM schedule_runs GROUP BY schedule_id`;
    assert.equal(perSchedule.length, SCHEDULES);
    const [groups] = await pool.$queryRaw<
      { n: number }[]
    >`SELECT count(DISTINCT timing_group)::int AS n FROM schedules`;
    assert.equal(groups.n, ZONES.length);
    for (const s of perSchedule) {
      assert.equal(s.n, expected, `${s.schedule_id}: ${s.n} runs`);
      assert.equal(s.distinct_times, expected);
      assert.equal(s.lo.getTime(), startAt.getTime());
      assert.equal(s.hi.getTime(), endAt.getTime());
    }
    const settled = await waitFor(
      async () => {
        const [r] = await pool.$queryRaw<
          { n: number }[]
        >`SELECT count(*)::int AS n FROM schedule_runs WHERE status = 'succeeded'`;
        return r.n === SCHEDULES * expected ? r.n : undefined;
      },
      60_000,
      'every run settled',
    );
    assert.equal(settled, SCHEDULES * expected);
    // Once settled: each run started one task, and no task belongs to two runs.
    const [tasks] = await pool.$queryRaw<{ runs: number; targets: number; tasks: number }[]>`
      SELECT (SELECT count(*)::int FROM schedule_runs WHERE target_id IS NOT NULL) AS runs,
             (SELECT count(DISTINCT target_id)::int FROM schedule_runs) AS targets,
             (SELECT count(*)::int FROM tasks) AS tasks`;
    assert.deepEqual(tasks, { runs: SCHEDULES * expected, targets: SCHEDULES * expected, tasks: SCHEDULES * expected });
    const [lag] = await pool.$queryRaw<{ p50: number; p99: number; max: number }[]>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99, max(lag_ms) AS max FROM schedule_runs`;
    console.log(`# lag ms over ${SCHEDULES * expected} runs: p50 ${lag.p50}, p99 ${lag.p99}, max ${lag.max}`);
  });
});
