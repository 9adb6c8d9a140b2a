import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { formatLocal } from '@baton/scheduling';
import { appEnv, startBaton, waitFor, type Harness } from './support/harness';

// Deadlines, the weekly worked example of REQUIREMENTS §3 with scaled-down times, stuck jobs and backlog.
// The API and the schedules/maintenance workers run in this process; tasks run in a spawned worker process, so that
// killing it stops a running task's heartbeat for real.
const HOUR = 250; // 1 h scaled to 250 ms: 8 h → 2 s; Sunday 00:00 → Tuesday 23:59 → about 18 s
const WORKER = 'dist/apps/worker/src/main.js';

let h: Harness;
let key: string;
let tenantId: string;
let taskWorker: ChildProcess | undefined;

function spawnTaskWorker(): ChildProcess {
  const child = spawn(process.execPath, [WORKER], {
    env: appEnv(h, {
      LOG_LEVEL: 'warn',
      WORKER_QUEUES: 'tasks',
      TASK_HEARTBEAT_MS: '200',
    }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

before(async () => {
  h = await startBaton({
    WORKER_QUEUES: 'schedules,maintenance',
    SCHEDULE_SWEEP_INTERVAL_MS: '200',
    ALERT_WATCH_INTERVAL_MS: '200',
    STUCK_AFTER_MS: '1500',
    ALERT_BACKLOG_WAITING: '5',
    ALERT_BACKLOG_OLDEST_MS: '600000',
  });
  ({ key, tenantId } = await h.tenant('member'));
  taskWorker = await startTaskWorker();
});

/** A task worker process, once it has registered (so timings below do not include its boot). */
async function startTaskWorker(): Promise<ChildProcess> {
  const child = spawnTaskWorker();
  await waitFor(
    async () =>
      (await h.runtime.prisma.worker.findFirst({ where: { pid: child.pid, queues: { has: 'tasks' } } })) ?? undefined,
    60_000,
    'the task worker to register',
  );
  return child;
}
after(async () => {
  taskWorker?.kill('SIGKILL');
  await h.close();
});

const alerts = async (query = '', k = key) => (await h.request('GET', `/v1/alerts${query}`, { key: k })).body.data;
const events = (type: string, alertId: string) =>
  h.runtime.prisma.notificationEvent.findMany({ where: { type, subjectId: alertId } });
const runOf = async (scheduleId: string, runId: string) =>
  (await h.request('GET', `/v1/schedules/${scheduleId}/runs`, { key })).body.data.find((r: any) => r.id === runId);

describe('the weekly batch (REQUIREMENTS §3)', () => {
  const weekly = {
    name: 'weekly report',
    cron: '0 0 * * 0', // Sunday 00:00 in the team's zone
    timezone: 'Europe/Berlin',
    deadline: { withinMs: (2 * 24 + 23) * 3600_000 + 59 * 60_000 }, // to Tuesday 23:59
    expectedDurationMs: 8 * 3600_000,
    target: { type: 'task', handler: 'sleep', payload: { ms: 1000, steps: 10 } },
  };

  test('the real definition: fires Sunday 00:00 Berlin time, deadline Tuesday 23:59', async () => {
    const r = await h.request('POST', '/v1/schedules', { key, body: weekly });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const up = await h.request('GET', `/v1/schedules/${r.body.id}/upcoming?count=60`, { key });
    let checked = 0;
    for (const { at, local } of up.body.data) {
      assert.match(local, /T00:00:00\+0[12]:00$/);
      const deadline = formatLocal(new Date(new Date(at).getTime() + weekly.deadline.withinMs), 'Europe/Berlin');
      const dayAfterNext = new Date(new Date(local.slice(0, 10) + 'T00:00:00Z').getTime() + 2 * 86_400_000);
      // withinMs is a duration: in the weeks without a DST change in between it ends Tuesday 23:59 local time
      // (in a DST week an hour earlier or later; see README).
      if (deadline.slice(-6) !== local.slice(-6)) continue;
      assert.equal(new Date(local.slice(0, 10)).getUTCDay(), 0, 'Sunday');
      assert.equal(deadline.slice(0, 16), `${dayAfterNext.toISOString().slice(0, 10)}T23:59`, 'Tuesday 23:59');
      checked++;
    }
    assert.ok(checked >= 50);
    await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key });
  });

  test('scaled down: a run slower than its deadline is at risk before the deadline, then missed; a later run on time resolves it', async () => {
    const r = await h.request('POST', '/v1/schedules', {
      key,
      body: {
        ...weekly,
        deadline: { withinMs: Math.round((2 * 24 + 23 + 59 / 60) * HOUR) },
        expectedDurationMs: 8 * HOUR,
        // Twelve "hours" of work in 24 progress steps, where 8 were expected: its progress rate gives it away.
        target: { type: 'task', handler: 'sleep', payload: { ms: 96 * HOUR, steps: 24 } },
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const scheduleId = r.body.id;
    const run = (await h.request('POST', `/v1/schedules/${scheduleId}/trigger`, { key })).body;
    assert.equal(run.status, 'running');
    const deadlineAt = new Date(run.deadlineAt).getTime();

    const atRisk = await waitFor(
      async () => (await alerts('?kind=deadline_at_risk')).find((a: any) => a.subject === run.id),
      30_000,
      'deadline_at_risk',
    );
    assert.ok(new Date(atRisk.raisedAt).getTime() < deadlineAt, 'raised before the deadline');
    assert.match(atRisk.message, /from its progress/);
    const missed = await waitFor(
      async () => (await alerts('?kind=deadline_missed&state=open')).find((a: any) => a.subject === scheduleId),
      40_000,
      'deadline_missed',
    );
    assert.ok(new Date(missed.raisedAt).getTime() >= deadlineAt);
    const resolvedRisk = (await alerts('?kind=deadline_at_risk')).find((a: any) => a.id === atRisk.id);
    assert.ok(resolvedRisk.resolvedAt, 'at risk turns into missed');

    const finished = await waitFor(
      async () => {
        const x = await runOf(scheduleId, run.id);
        return x.status === 'succeeded' ? x : undefined;
      },
      40_000,
      'the slow run to finish',
    );
    assert.equal(finished.deadlineMet, false);
    assert.ok(finished.durationMs >= 96 * HOUR);

    // A quick run meets its deadline and resolves the schedule's missed-deadline alert.
    const patched = await h.request('PATCH', `/v1/schedules/${scheduleId}`, {
      key,
      body: { target: { type: 'task', handler: 'sleep', payload: { ms: 4 * HOUR, steps: 4 } } },
    });
    assert.equal(patched.status, 200);
    const quick = (await h.request('POST', `/v1/schedules/${scheduleId}/trigger`, { key })).body;
    const done = await waitFor(async () => {
      const x = await runOf(scheduleId, quick.id);
      return x.status === 'succeeded' ? x : undefined;
    });
    assert.equal(done.deadlineMet, true);
    const resolved = await waitFor(async () =>
      (await alerts('?kind=deadline_missed')).find((a: any) => a.id === missed.id && a.resolvedAt),
    );
    assert.ok(resolved);
    // Each alert opened once and resolved once, with one event each.
    for (const a of [atRisk, missed]) {
      assert.equal((await events('alert.raised', a.id)).length, 1);
      assert.equal((await events('alert.resolved', a.id)).length, 1);
    }
    assert.equal((await alerts('?kind=deadline_at_risk')).filter((a: any) => a.subject === run.id).length, 1);
    const other = await h.tenant('member');
    assert.equal((await alerts('', other.key)).length, 0, "another tenant sees none of this tenant's alerts");
    await h.request('DELETE', `/v1/schedules/${scheduleId}`, { key });
  });
});

describe('long jobs', () => {
  test('a running task whose heartbeat stops is reported stuck, once; the alert resolves when it ends', async () => {
    const task = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'sleep', payload: { ms: 60_000, steps: 1 } },
    });
    assert.equal(task.status, 202);
    await waitFor(
      async () => {
        const t = await h.runtime.prisma.task.findUnique({ where: { id: task.body.id } });
        return t?.status === 'running' && t.heartbeatAt ? t : undefined;
      },
      20_000,
      'the task to run and heartbeat',
    );
    // Heartbeats keep it alive well past STUCK_AFTER_MS while its worker lives.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await alerts('?kind=stuck_jobs')).length, 0);
    taskWorker!.kill('SIGKILL');
    const stuck = await waitFor(
      async () => (await alerts('?kind=stuck_jobs&state=open')).find((a: any) => a.subject === task.body.id),
      15_000,
      'stuck_jobs',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await alerts('?kind=stuck_jobs')).length, 1, 'not raised again on every tick');
    await h.request('POST', `/v1/tasks/${task.body.id}/cancel`, { key });
    await waitFor(async () => (await alerts('?kind=stuck_jobs')).find((a: any) => a.id === stuck.id && a.resolvedAt));
    assert.equal((await events('alert.raised', stuck.id)).length, 1);
    assert.equal((await events('alert.resolved', stuck.id)).length, 1);
    assert.equal(stuck.tenantId, tenantId);
    taskWorker = await startTaskWorker();
  });
});

describe('backlog', () => {
  test('a queue past its waiting bound raises backlog once; draining resolves it', async () => {
    const admin = h.adminKey;
    assert.equal((await h.request('POST', '/v1/queues/tasks/pause', { key: admin })).status, 202);
    for (let i = 0; i < 8; i++) await h.request('POST', '/v1/tasks', { key, body: { handler: 'noop' } });
    const backlog = await waitFor(
      async () => (await alerts('?kind=backlog&state=open', admin)).find((a: any) => a.subject === 'tasks'),
      15_000,
      'backlog',
    );
    assert.match(backlog.message, /^queue tasks: [6-8] jobs waiting \(bound 5\)/);
    assert.equal((await alerts('?kind=backlog', key)).length, 0, 'system alerts are for operators');
    await h.request('POST', '/v1/queues/tasks/resume', { key: admin });
    await waitFor(
      async () => (await alerts('?kind=backlog', admin)).find((a: any) => a.id === backlog.id && a.resolvedAt),
      20_000,
      'resolved',
    );
    assert.equal((await alerts('?kind=backlog', admin)).length, 1);
  });
});
