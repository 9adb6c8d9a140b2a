import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBaton, waitFor, type Harness } from './support/harness';

let h: Harness;
let key: string;
let viewer: string;
let other: string;

before(async () => {
  h = await startBaton({
    SCHEDULE_SWEEP_INTERVAL_MS: '200',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
    ALERT_WATCH_INTERVAL_MS: '200',
    SCHEDULE_CATCH_UP_GRACE_MS: '1500',
    TASK_CONCURRENCY: '16',
  });
  const t = await h.tenant('member');
  key = t.key;
  const v = await h.request('POST', `/v1/tenants/${t.tenantId}/api-keys`, {
    key: h.adminKey,
    body: { role: 'viewer' },
  });
  viewer = v.body.secret;
  other = (await h.tenant('member')).key;
});
after(() => h.close());

const noop = { type: 'task', handler: 'noop' };
const create = (body: unknown, k = key, headers?: Record<string, string>) =>
  h.request('POST', '/v1/schedules', { key: k, body, headers });
const runsOf = async (id: string) => (await h.request('GET', `/v1/schedules/${id}/runs?limit=1000`, { key })).body.data;
const fields = (r: { body: any }) => (r.body.error?.details ?? []).map((d: any) => d.field);
const soon = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);

describe('schedules API', () => {
  test('create answers 201 with an ETag, defaults applied and the next run time', async () => {
    const r = await create({ name: 'nightly', cron: '30 2 * * *', timezone: 'America/New_York', target: noop });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.match(r.body.id, /^sch_/);
    assert.equal(r.headers.get('etag'), `"${r.body.id}.v1"`);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.overlap, 'skip');
    assert.deepEqual(r.body.catchUp, { policy: 'latest', maxRuns: 10 });
    assert.equal(r.body.paused, false);
    assert.ok(r.body.nextRunAt > new Date().toISOString());
    const got = await h.request('GET', `/v1/schedules/${r.body.id}`, { key: viewer });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('etag'), r.headers.get('etag'));
    assert.equal((await h.request('GET', `/v1/schedules/${r.body.id}`, { key: other })).status, 404);
    const list = await h.request('GET', '/v1/schedules', { key });
    assert.ok(list.body.data.some((s: any) => s.id === r.body.id));
    assert.equal(list.body.nextCursor, null);
  });

  test('upcoming shows what will fire, in UTC and local time, DST included', async () => {
    const r = await create({ name: 'dst', cron: '30 2 * * *', timezone: 'America/New_York', target: noop });
    const up = await h.request('GET', `/v1/schedules/${r.body.id}/upcoming?count=400`, { key });
    assert.equal(up.status, 200);
    assert.equal(up.body.data.length, 400);
    assert.equal(up.body.data[0].at, r.body.nextRunAt);
    for (const run of up.body.data) {
      assert.match(run.local, /T0[23]:[03]0:00-0[45]:00$/);
      assert.equal(new Date(run.local).toISOString(), run.at);
    }
    // The spring-forward day: 02:30 does not exist, so it fires once at 03:00 EDT.
    assert.ok(up.body.data.some((u: any) => /^\d{4}-03-\d\dT03:00:00-04:00$/.test(u.local)));
    assert.equal((await h.request('GET', `/v1/schedules/${r.body.id}/upcoming?count=0`, { key })).status, 400);
  });

  test('PATCH with If-Match: the current ETag applies, a stale one is 412', async () => {
    const r = await create({ name: 'p', everyMs: 60_000, target: noop });
    const etag = r.headers.get('etag')!;
    const ok = await h.request('PATCH', `/v1/schedules/${r.body.id}`, {
      key,
      body: { name: 'renamed', cron: '0 * * * *' },
      headers: { 'if-match': etag },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.name, 'renamed');
    assert.equal(ok.body.cron, '0 * * * *');
    assert.equal(ok.body.everyMs, undefined);
    assert.equal(ok.body.version, 2);
    assert.notEqual(ok.headers.get('etag'), etag);
    const stale = await h.request('PATCH', `/v1/schedules/${r.body.id}`, {
      key,
      body: { name: 'lost update' },
      headers: { 'if-match': etag },
    });
    assert.equal(stale.status, 412);
    assert.equal(stale.body.error.code, 'precondition_failed');
    const bad = await h.request('PATCH', `/v1/schedules/${r.body.id}`, { key, body: { timezone: 'Mars/Olympus' } });
    assert.equal(bad.status, 400);
    assert.deepEqual(fields(bad), ['timezone']);
    assert.equal((await h.request('PATCH', `/v1/schedules/${r.body.id}`, { key: viewer, body: {} })).status, 403);
  });

  test('bad input is 400 with the field named', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'x', cron: '61 * * * *', target: noop }, 'cron'],
      [{ name: 'x', cron: '0 0 * * *', timezone: 'Europe/Atlantis', target: noop }, 'timezone'],
      [{ name: 'x', everyMs: 10, target: noop }, 'everyMs'],
      [
        { name: 'x', everyMs: 60_000, startAt: '2026-01-02T00:00:00Z', endAt: '2026-01-01T00:00:00Z', target: noop },
        'endAt',
      ],
      [{ name: 'x', everyMs: 60_000, target: { type: 'task', handler: 'nope' } }, 'target.handler'],
      [
        { name: 'x', everyMs: 60_000, target: { type: 'task', handler: 'sleep', payload: { ms: -1 } } },
        'target.payload.ms',
      ],
      [{ name: 'x', everyMs: 60_000, target: { type: 'task', handler: 'noop', priority: 99 } }, 'target.priority'],
      [{ name: 'x', everyMs: 60_000, target: { type: 'task', handler: 'noop', bogus: 1 } }, 'target.bogus'],
      [{ name: 'x', everyMs: 60_000, target: { type: 'batch', items: [] } }, 'target.items'],
      [
        { name: 'x', everyMs: 60_000, target: { type: 'batch', items: [{}], policy: { maxAttempts: 99 } } },
        'target.policy.maxAttempts',
      ],
      [{ name: 'x', everyMs: 60_000, target: { type: 'inference', model: 'm', inputs: [] } }, 'target.inputs'],
      [{ name: 'x', everyMs: 60_000, target: { type: 'cron-job' } }, 'target.type'],
      [{ name: 'x', everyMs: 60_000, target: noop, overlap: 'maybe' }, 'overlap'],
      [{ name: 'x', everyMs: 60_000, target: noop, catchUp: { policy: 'all', maxRuns: 0 } }, 'catchUp.maxRuns'],
      [{ name: 'x', everyMs: 60_000, target: noop, deadline: { withinMs: -5 } }, 'deadline.withinMs'],
      [{ everyMs: 60_000, target: noop }, 'name'],
      [{ name: 'x', target: noop }, 'cron'],
      [{ name: 'x', everyMs: 60_000, target: noop, color: 'red' }, 'color'],
    ];
    for (const [body, field] of cases) {
      const r = await create(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.ok(
        fields(r).includes(field),
        `${JSON.stringify(body)}: expected ${field} in ${JSON.stringify(fields(r))}`,
      );
    }
    assert.equal((await h.request('POST', '/v1/schedules', { key, raw: '{"name":' })).status, 400);
    assert.equal((await h.request('GET', '/v1/schedules/sch_nope', { key })).status, 404);
  });

  test('openapi.json describes the schedule and alert endpoints', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    const ops = Object.entries(doc.paths).flatMap(([path, methods]: [string, any]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const op of [
      'POST /v1/schedules',
      'GET /v1/schedules',
      'GET /v1/schedules/{id}',
      'PATCH /v1/schedules/{id}',
      'DELETE /v1/schedules/{id}',
      'POST /v1/schedules/{id}/pause',
      'POST /v1/schedules/{id}/resume',
      'POST /v1/schedules/{id}/trigger',
      'GET /v1/schedules/{id}/upcoming',
      'GET /v1/schedules/{id}/runs',
      'GET /v1/alerts',
    ]) {
      assert.ok(ops.includes(op), `${op} is documented`);
    }
  });

  test('pause, resume, delete; resuming a deleted schedule is 409', async () => {
    const r = await create({ name: 'pr', everyMs: 60_000, target: noop });
    const paused = await h.request('POST', `/v1/schedules/${r.body.id}/pause`, { key });
    assert.equal(paused.status, 200);
    assert.equal(paused.body.paused, true);
    assert.equal(paused.body.nextRunAt, null);
    assert.deepEqual((await h.request('GET', `/v1/schedules/${r.body.id}/upcoming`, { key })).body.data, []);
    // Anchored at its own creation time, it is alone in its timing group: the group's scheduler goes with it.
    const group = (await h.runtime.stores.schedules.find(r.body.id, null))!.timingGroup!;
    assert.match(group, /^timing:/);
    assert.equal(await h.runtime.scheduleQueue.scheduled(group), null, 'no job scheduler while paused');
    const resumed = await h.request('POST', `/v1/schedules/${r.body.id}/resume`, { key });
    assert.equal(resumed.body.paused, false);
    assert.ok(await h.runtime.scheduleQueue.scheduled(group));
    assert.equal((await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key })).status, 204);
    assert.equal((await h.request('GET', `/v1/schedules/${r.body.id}`, { key })).status, 404);
    const again = await h.request('POST', `/v1/schedules/${r.body.id}/resume`, { key });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'invalid_state');
    assert.equal(await h.runtime.scheduleQueue.scheduled(group), null);
  });

  test('create and trigger honour Idempotency-Key: one schedule, one run', async () => {
    const body = { name: 'idem', everyMs: 3_600_000, target: noop, overlap: 'allow' };
    const a = await create(body, key, { 'idempotency-key': 'sched-1' });
    const b = await create(body, key, { 'idempotency-key': 'sched-1' });
    assert.equal(a.body.id, b.body.id);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(b.headers.get('etag'), a.headers.get('etag'));
    const t1 = await h.request('POST', `/v1/schedules/${a.body.id}/trigger`, {
      key,
      headers: { 'idempotency-key': 'go' },
    });
    const t2 = await h.request('POST', `/v1/schedules/${a.body.id}/trigger`, {
      key,
      headers: { 'idempotency-key': 'go' },
    });
    assert.equal(t1.status, 202, JSON.stringify(t1.body));
    assert.match(t1.body.id, /^run_/);
    assert.equal(t2.body.id, t1.body.id);
    assert.match(t1.body.targetId, /^tsk_/);
    const runs = await waitFor(async () => {
      const rs = await runsOf(a.body.id);
      return rs.length === 1 && rs[0].status === 'succeeded' ? rs : undefined;
    });
    assert.equal(runs[0].targetId, t1.body.targetId);
    assert.ok(runs[0].durationMs >= 0);
    const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: t1.body.id } });
    assert.deepEqual(
      events.map((e) => e.type),
      ['schedule.run.completed'],
    );
    assert.equal((events[0].payload as any).status, 'succeeded');
  });
});

describe('firing', () => {
  test('a one-second fixed rate fires each second once, on time, and its runs complete with their tasks', async () => {
    const startAt = soon(1500);
    const endAt = new Date(startAt.getTime() + 3000);
    const r = await create({ name: 'rate', everyMs: 1000, startAt, endAt, target: noop, overlap: 'allow' });
    assert.equal(r.body.nextRunAt, startAt.toISOString());
    const runs = await waitFor(
      async () => {
        const rs = await runsOf(r.body.id);
        return rs.length === 4 && rs.every((x: any) => x.status === 'succeeded') ? rs : undefined;
      },
      15_000,
      '4 runs',
    );
    assert.deepEqual(
      runs.map((x: any) => x.scheduledFor).sort(),
      [0, 1000, 2000, 3000].map((d) => new Date(startAt.getTime() + d).toISOString()),
    );
    for (const run of runs) {
      assert.ok(run.lagMs >= 0 && run.lagMs < 1000, `lag ${run.lagMs}`);
      assert.equal(new Date(run.firedAt).getTime() - new Date(run.scheduledFor).getTime(), run.lagMs);
      const task = await h.request('GET', `/v1/tasks/${run.targetId}`, { key });
      assert.equal(task.body.status, 'succeeded');
    }
  });

  test('a one-off fires once at its time', async () => {
    const runAt = soon(1200);
    const r = await create({ name: 'once', runAt, target: noop });
    const runs = await waitFor(async () => {
      const rs = await runsOf(r.body.id);
      return rs.length === 1 && rs[0].status === 'succeeded' ? rs : undefined;
    });
    assert.equal(runs[0].scheduledFor, runAt.toISOString());
    assert.equal((await h.request('GET', `/v1/schedules/${r.body.id}`, { key })).body.nextRunAt, null);
  });

  test('overlap skip records the run as skipped while the previous one runs', async () => {
    const r = await create({
      name: 'skip',
      everyMs: 1000,
      startAt: soon(1000),
      target: { type: 'task', handler: 'sleep', payload: { ms: 2500 } },
      overlap: 'skip',
    });
    const runs = await waitFor(async () => {
      const rs = await runsOf(r.body.id);
      return rs.some((x: any) => x.status === 'skipped') && rs.some((x: any) => x.status === 'succeeded')
        ? rs
        : undefined;
    }, 15_000);
    await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key });
    const skipped = runs.filter((x: any) => x.status === 'skipped');
    assert.ok(skipped.every((x: any) => x.targetId === null));
    const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: skipped[0].id } });
    assert.equal(events.length, 1, 'a skipped run is announced as completed');
  });

  test('overlap cancel_previous cancels the running target before starting the next', async () => {
    const r = await create({
      name: 'cancel',
      everyMs: 1000,
      startAt: soon(1000),
      target: { type: 'task', handler: 'sleep', payload: { ms: 10_000 } },
      overlap: 'cancel_previous',
    });
    const runs = await waitFor(async () => {
      const rs = await runsOf(r.body.id);
      return rs.filter((x: any) => x.status === 'cancelled').length >= 2 ? rs : undefined;
    }, 15_000);
    await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key });
    assert.ok(runs.filter((x: any) => x.status === 'running').length <= 1);
  });

  test('overlap allow runs them side by side', async () => {
    const r = await create({
      name: 'allow',
      everyMs: 1000,
      startAt: soon(1000),
      target: { type: 'task', handler: 'sleep', payload: { ms: 2500 } },
      overlap: 'allow',
    });
    await waitFor(async () => (await runsOf(r.body.id)).filter((x: any) => x.status === 'running').length >= 2, 15_000);
    await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key });
  });

  for (const [policy, expected] of [
    ['none', 0],
    ['latest', 1],
    ['all', 3],
  ] as const) {
    test(`catch-up ${policy} after a pause: ${expected} run(s) for what was missed`, async () => {
      const r = await create({
        name: `catch-${policy}`,
        everyMs: 1000,
        startAt: soon(1000),
        target: noop,
        overlap: 'allow',
        catchUp: { policy, maxRuns: 3 },
        paused: true,
      });
      await new Promise((res) => setTimeout(res, 6000)); // ~5 fire times missed, older than the 1.5 s grace
      await h.request('POST', `/v1/schedules/${r.body.id}/pause`, { key }); // no-op: already paused
      await h.request('POST', `/v1/schedules/${r.body.id}/resume`, { key });
      await new Promise((res) => setTimeout(res, 800));
      await h.request('POST', `/v1/schedules/${r.body.id}/pause`, { key });
      const runs = await runsOf(r.body.id);
      // Missed: fired later than the 1.5 s grace after its time (a caught-up run shows how late it fired).
      const missed = runs.filter((x: any) => x.lagMs > 1500);
      assert.equal(missed.length, expected, JSON.stringify(runs.map((x: any) => [x.scheduledFor, x.firedAt])));
      assert.ok(runs.length >= expected);
      const times = runs.map((x: any) => x.scheduledFor);
      assert.equal(new Set(times).size, times.length);
    });
  }

  test('an inference target: each run submits an inference job as POST /v1/inference/jobs would', async () => {
    const { pngBase64 } = await import('../libs/inference/src/testing/images');
    const r = await create({
      name: 'inference',
      everyMs: 3_600_000,
      target: { type: 'inference', model: 'text-direction', input: { image: pngBase64(96, 24) } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const run = await h.request('POST', `/v1/schedules/${r.body.id}/trigger`, { key });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    assert.match(run.body.targetId, /^inf_/);
    const job = await h.request('GET', `/v1/inference/jobs/${run.body.targetId}`, { key });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    assert.equal(job.body.model.name, 'text-direction');
    assert.equal(job.body.counts.total, 1);
    const bad = await create({
      name: 'bad',
      everyMs: 3_600_000,
      target: { type: 'inference', model: 'nope', input: {} },
    });
    assert.equal(bad.status, 400);
    assert.ok(
      fields(bad).some((f: string) => f.startsWith('target.')),
      JSON.stringify(bad.body),
    );
  });

  test("a schedule's notify gets each run's completion, signed; bad notify is a 400 naming the field", async () => {
    const { startReceiver } = await import('./support/receiver');
    const { Webhook } = await import('standardwebhooks');
    const receiver = await startReceiver(() => ({ status: 200 }));
    try {
      const r = await create({
        name: 'notified',
        everyMs: 3_600_000,
        target: { type: 'task', handler: 'noop' },
        notify: { webhook: { url: `${receiver.url}/runs` } },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.match(r.body.webhookSecret, /^whsec_/);
      assert.equal(JSON.stringify(r.body.notify ?? {}).includes('whsec_'), false);
      const run = await h.request('POST', `/v1/schedules/${r.body.id}/trigger`, { key });
      assert.equal(run.status, 202);
      const hit = await waitFor(() => Promise.resolve(receiver.hitsOn('/runs')[0]), 30_000, 'the run event');
      const payload = new Webhook(r.body.webhookSecret).verify(hit.body, hit.headers as Record<string, string>) as any;
      assert.equal(payload.type, 'schedule.run.completed');
      const bad = await create({
        name: 'bad',
        everyMs: 3_600_000,
        target: { type: 'task', handler: 'noop' },
        notify: { webhook: { url: 'ftp://nope' } },
      });
      assert.equal(bad.status, 400);
      assert.ok(fields(bad).includes('notify.webhook.url'), JSON.stringify(bad.body));
    } finally {
      await receiver.close();
    }
  });

  test('a batch target: each run creates a batch as POST /v1/batches would, and ends with it', async () => {
    const r = await create({
      name: 'nightly batch',
      everyMs: 3_600_000,
      target: { type: 'batch', items: [{ a: 1 }, { a: 2 }], policy: { backoff: { baseMs: 50, maxMs: 100 } } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const run = await h.request('POST', `/v1/schedules/${r.body.id}/trigger`, { key });
    assert.equal(run.status, 202, JSON.stringify(run.body));
    assert.match(run.body.targetId, /^bat_/);
    const batch = await h.request('GET', `/v1/batches/${run.body.targetId}`, { key });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.counts.total, 2);
    const done = await waitFor(
      async () => (await runsOf(r.body.id)).find((x: any) => x.id === run.body.id && x.status === 'succeeded'),
      30_000,
      'the run to end with its batch',
    );
    assert.equal((await h.request('GET', `/v1/batches/${run.body.targetId}`, { key })).body.outcome, 'all_succeeded');
    assert.ok(done.durationMs >= 0);
    const bad = await create({ name: 'bad', everyMs: 3_600_000, target: { type: 'batch', items: [] } });
    assert.equal(bad.status, 400);
    assert.ok(
      bad.body.error.details.some((d: any) => d.field === 'target.items'),
      JSON.stringify(bad.body),
    );
  });
});

describe('timing groups', () => {
  const record = async (id: string) => (await h.runtime.stores.schedules.find(id, null))!;
  const scheduled = (id: string) => h.runtime.scheduleQueue.scheduled(id);
  const fireAheadMs = () => h.runtime.config.SCHEDULE_FIRE_AHEAD_MS;

  test('same timing, one job scheduler; pausing one leaves the others firing; PATCH moves one to its new group', async () => {
    const startAt = soon(1500);
    const body = {
      everyMs: 1000,
      startAt,
      endAt: new Date(startAt.getTime() + 60_000),
      target: noop,
      overlap: 'allow',
    };
    const [a, b, c] = await Promise.all(['ga', 'gb', 'gc'].map((name) => create({ ...body, name })));
    const group = (await record(a.body.id)).timingGroup!;
    assert.equal((await record(b.body.id)).timingGroup, group);
    assert.equal((await record(c.body.id)).timingGroup, group);
    assert.ok(await scheduled(group), 'the group has its job scheduler');
    assert.equal(await scheduled(a.body.id), null, 'and no schedule has one of its own');
    await waitFor(async () => (await runsOf(b.body.id)).length >= 2, 15_000, 'b to fire');

    assert.equal((await h.request('POST', `/v1/schedules/${b.body.id}/pause`, { key })).status, 200);
    const pausedAt = Date.now();
    const aRuns = (await runsOf(a.body.id)).length;
    await waitFor(async () => (await runsOf(c.body.id)).length >= aRuns + 3, 15_000, 'c to go on firing');
    assert.ok((await runsOf(a.body.id)).length >= aRuns + 3, 'a goes on firing');
    // A fire job reads its members when it comes due, one fire-ahead before its instant: b fires no later than that.
    for (const run of await runsOf(b.body.id)) {
      assert.ok(
        Date.parse(run.scheduledFor) <= pausedAt + fireAheadMs(),
        `b fired ${run.scheduledFor} after its pause`,
      );
    }

    const patched = await h.request('PATCH', `/v1/schedules/${a.body.id}`, { key, body: { everyMs: 2000 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const patchedAt = Date.now();
    const moved = (await record(a.body.id)).timingGroup!;
    assert.notEqual(moved, group);
    assert.ok(await scheduled(moved), 'its new group has a job scheduler');
    assert.ok(await scheduled(group), 'the old one stays for c');
    const later = await waitFor(
      async () => {
        const rs = (await runsOf(a.body.id)).filter((x: any) => Date.parse(x.scheduledFor) > patchedAt + fireAheadMs());
        return rs.length >= 2 ? rs : undefined;
      },
      15_000,
      'a to fire at its new rate',
    );
    for (const run of later) assert.equal((Date.parse(run.scheduledFor) - startAt.getTime()) % 2000, 0);

    // c gone and b paused: no active member is left, and the group gives its job scheduler back.
    assert.equal((await h.request('DELETE', `/v1/schedules/${c.body.id}`, { key })).status, 204);
    assert.equal(await scheduled(group), null);
    assert.equal((await h.request('POST', `/v1/schedules/${b.body.id}/resume`, { key })).status, 200);
    const resumedAt = Date.now();
    assert.ok(await scheduled(group), 'resuming b brings it back');
    await waitFor(
      async () => (await runsOf(b.body.id)).some((x: any) => Date.parse(x.scheduledFor) > resumedAt),
      15_000,
      'b to fire again',
    );
    for (const s of [a, b]) await h.request('DELETE', `/v1/schedules/${s.body.id}`, { key });
  });

  test('a fire job that read its members before the previous instant fired neither skips nor refires behind it', async () => {
    const { ScheduleRunner, TargetRegistry } = await import('@baton/schedules');
    await h.stopWorker(); // this test plays the group's fire jobs itself
    try {
      // No target registered: each run fails at once (target_unavailable), so none is open when the next one comes.
      const runner = new ScheduleRunner(
        h.runtime.stores.schedules,
        new TargetRegistry([]),
        { graceMs: 1500 },
        h.runtime.log,
      );
      const startAt = soon(1500);
      const r = await create({
        name: 'stale read',
        everyMs: 1000,
        startAt,
        endAt: new Date(startAt.getTime() + 1000),
        timezone: 'Pacific/Chatham', // a group of its own
        target: noop, // overlap skip, the default
      });
      const group = (await record(r.body.id)).timingGroup!;
      const at = (ms: number) => new Date(startAt.getTime() + ms);
      // Both jobs read their members now, before either instant: the second one's read cannot show the first's run.
      const [first, second] = await Promise.all([
        runner.fireGroup(group, { instant: at(0), horizon: at(0) }),
        runner.fireGroup(group, { instant: at(1000), horizon: at(1000) }),
      ]);
      assert.deepEqual(
        [first, second],
        [
          { fired: 1, skipped: 0 },
          { fired: 1, skipped: 0 },
        ],
      );
      const runs = (await runsOf(r.body.id)).map((x: any) => [x.scheduledFor, x.status, x.error?.code]);
      assert.deepEqual(runs.sort(), [
        [at(0).toISOString(), 'failed', 'target_unavailable'],
        [at(1000).toISOString(), 'failed', 'target_unavailable'],
      ]);
      await h.request('DELETE', `/v1/schedules/${r.body.id}`, { key });
    } finally {
      await h.startWorker();
    }
  });

  test('the reconciler restores a lost group scheduler and moves a schedule from before timing groups into its group', async () => {
    const { ScheduleReconciler } = await import('@baton/schedules');
    const reconciler = new ScheduleReconciler(h.runtime.stores.schedules, h.runtime.scheduleQueue, h.runtime.log);
    const r = await create({ name: 'legacy', everyMs: 3_600_000, target: noop });
    const s = await record(r.body.id);
    const group = s.timingGroup!;
    const pattern = h.runtime.scheduleQueue.pattern(s);
    // As before timing groups: no group in Postgres, a job scheduler of its own in Redis.
    await h.runtime.prisma.$executeRaw`UPDATE schedules SET timing_group = NULL WHERE id = ${s.id}`;
    await h.runtime.scheduleQueue.remove(group);
    await h.runtime.scheduleQueue.queue.upsertJobScheduler(
      s.id,
      { pattern },
      { name: 'schedule.fire', data: { scheduleId: s.id, tenantId: s.tenantId } },
    );
    await reconciler.run();
    assert.equal((await record(s.id)).timingGroup, group);
    assert.equal(await scheduled(s.id), null, 'its own scheduler is gone');
    assert.equal(await scheduled(group), pattern, 'its group fires it');
    assert.ok(await h.runtime.scheduleQueue.queue.getJob(`catchup-${s.id}-${s.version}`), 'and it caught up');

    // Redis lost the group's scheduler (a flush, a failover to an empty replica): it is put back.
    await h.runtime.scheduleQueue.remove(group);
    await reconciler.run();
    assert.equal(await scheduled(group), pattern);
    await h.request('DELETE', `/v1/schedules/${s.id}`, { key });
    assert.equal(await scheduled(group), null, 'deleting its only member releases it');
  });
});
