import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TargetUnavailableError,
  type ScheduleTarget,
  batchBodyProblems,
  decodePattern,
  encodePattern,
  fireWindowOf,
  inferenceBodyProblems,
  mergePatch,
  planSchedule,
  scheduleRepeatStrategy,
  TargetRegistry,
  timingGroupOf,
  type ScheduleRecord,
} from '.';

const at = (s: string): Date => new Date(s);
const registry = new TargetRegistry([], { batch: batchBodyProblems, inference: inferenceBodyProblems });
const ctx = {
  id: 'sch_x',
  tenantId: 'ten_x',
  now: at('2026-03-01T00:00:00Z'),
  createdAt: at('2026-03-01T00:00:00Z'),
  minEveryMs: 1000,
  targets: registry,
};
const batch = { type: 'batch', items: [{ a: 1 }] };

describe('the repeat strategy decides fire times by our rules', () => {
  const timing = {
    kind: 'cron' as const,
    cron: '30 2 * * *',
    timezone: 'America/New_York',
    everyMs: null,
    runAt: null,
    startAt: null,
    endAt: null,
    createdAt: at('2026-01-01T00:00:00Z'),
  };
  test('the pattern round-trips and the next time follows the DST policy (02:30 skipped → 03:00 EDT)', () => {
    // The creation time is left out where it does not move fire times (all but a fixed rate without startAt).
    assert.deepEqual(decodePattern(encodePattern(timing)), { ...timing, createdAt: new Date(0) });
    const every = { ...timing, kind: 'every' as const, cron: null, everyMs: 60_000 };
    assert.deepEqual(decodePattern(encodePattern(every)), every);
    const next = scheduleRepeatStrategy(at('2026-03-07T12:00:00Z').getTime(), { pattern: encodePattern(timing) });
    assert.equal(new Date(next!).toISOString(), '2026-03-08T07:00:00.000Z');
  });
  test('with a fire-ahead the job comes due that much early and still fires for the instant', () => {
    const pattern = encodePattern(timing, 250);
    const due = scheduleRepeatStrategy(at('2026-03-07T12:00:00Z').getTime(), { pattern })!;
    assert.equal(new Date(due).toISOString(), '2026-03-08T06:59:59.750Z');
    assert.deepEqual(fireWindowOf(due, due + 5, { pattern, count: 1 }), {
      instant: at('2026-03-08T07:00:00Z'),
      horizon: at('2026-03-08T07:00:00.005Z'),
    });
    // Picked up a little after its due time, the next job is for the next day's instant, not the same one again.
    const after = scheduleRepeatStrategy(due + 5, { pattern, count: 1 })!;
    assert.equal(fireWindowOf(after, after, { pattern, count: 2 }).instant.toISOString(), '2026-03-09T06:30:00.000Z');
  });

  test('a scheduler made less than the fire-ahead before its first instant: its first job is due now, for that instant', () => {
    const pattern = encodePattern(timing, 1000);
    const now = at('2026-03-08T06:59:59.600Z').getTime();
    const due = scheduleRepeatStrategy(now, { pattern })!;
    assert.equal(due, now, 'due at once, not skipped to the next day');
    assert.equal(fireWindowOf(due, now + 10, { pattern, count: 1 }).instant.toISOString(), '2026-03-08T07:00:00.000Z');
    // An iteration, by contrast, covers up to its pick-up plus the fire-ahead.
    const next = scheduleRepeatStrategy(now + 10, { pattern, count: 1 })!;
    assert.equal(new Date(next).toISOString(), '2026-03-09T06:29:59.000Z');
    const once = encodePattern({ ...timing, kind: 'once', cron: null, runAt: at('2026-03-08T07:00:00Z') }, 1000);
    assert.equal(scheduleRepeatStrategy(now, { pattern: once }), now, 'a one-off made 400 ms before its time fires');
  });

  test('picked up late: the next job starts after its horizon, which covers every instant in between', () => {
    const every = { ...timing, kind: 'every' as const, cron: null, everyMs: 1000, startAt: at('2026-03-01T00:00:00Z') };
    const pattern = encodePattern({ ...every, endAt: at('2026-03-01T00:00:10Z') }, 250);
    const due = at('2026-03-01T00:00:08.750Z').getTime(); // the job for :09
    const pickedUp = at('2026-03-01T00:00:09.900Z').getTime(); // 1150 ms late
    const { horizon } = fireWindowOf(due, pickedUp, { pattern, count: 9 });
    assert.ok(horizon >= at('2026-03-01T00:00:10Z'), 'its handler fires :10, the last instant');
    assert.equal(scheduleRepeatStrategy(pickedUp, { pattern, count: 9 }), undefined, 'and no job follows');
  });

  test('no next time once the schedule has ended', () => {
    const once = { ...timing, kind: 'once' as const, cron: null, runAt: at('2026-03-02T00:00:00Z') };
    assert.equal(
      scheduleRepeatStrategy(at('2026-03-02T00:00:00Z').getTime(), { pattern: encodePattern(once) }),
      undefined,
    );
  });
});

describe('timing groups', () => {
  const every = {
    kind: 'every' as const,
    cron: null,
    timezone: 'UTC',
    everyMs: 1000,
    runAt: null,
    startAt: at('2026-03-01T00:00:00Z'),
    endAt: at('2026-03-01T01:00:00Z'),
    createdAt: at('2026-02-01T00:00:00Z'),
  };
  const cron = { ...every, kind: 'cron' as const, cron: '*/5 * * * *', everyMs: null, startAt: null, endAt: null };

  test('the same fire times share a group whenever the schedules were created', () => {
    const later = at('2026-02-20T13:14:15.123Z');
    assert.equal(timingGroupOf({ ...every, createdAt: later }), timingGroupOf(every));
    assert.equal(timingGroupOf({ ...cron, createdAt: later }), timingGroupOf(cron));
    assert.match(timingGroupOf(every), /^timing:[0-9a-f]{32}$/);
  });

  test('any difference in the fire times is another group', () => {
    const groups = [
      every,
      { ...every, everyMs: 2000 },
      { ...every, startAt: at('2026-03-01T00:00:00.500Z') },
      { ...every, endAt: null },
      { ...every, timezone: 'Europe/Berlin' },
      cron,
      { ...cron, cron: '*/5 * * * * *' },
      { ...cron, timezone: 'America/New_York' },
      // A fixed rate without startAt is anchored at its creation: another creation time is another phase.
      { ...every, startAt: null },
      { ...every, startAt: null, createdAt: at('2026-02-01T00:00:00.001Z') },
      { ...cron, kind: 'once' as const, cron: null, runAt: at('2026-03-02T00:00:00Z') },
    ].map(timingGroupOf);
    assert.equal(new Set(groups).size, groups.length);
  });

  test('a planned schedule carries its group', () => {
    const s = planSchedule({ name: 'g', everyMs: 1000, startAt: every.startAt, target: batch }, ctx);
    assert.equal(s.timingGroup, timingGroupOf(s));
  });
});

describe('schedule bodies', () => {
  test('every problem is named at once, target fields under target.', () => {
    try {
      planSchedule({ name: '', everyMs: 5, target: { type: 'batch', items: 'x' }, priority: 0, deadline: {} }, ctx);
      assert.fail('accepted');
    } catch (error: any) {
      assert.deepEqual(error.details.map((d: any) => d.field).sort(), [
        'deadline.withinMs',
        'everyMs',
        'name',
        'priority',
        'target.items',
      ]);
    }
  });
  test('defaults: timezone UTC, overlap skip, catch-up latest (10)', () => {
    const s = planSchedule({ name: 'n', cron: '0 0 * * 0', target: batch }, ctx);
    assert.equal(s.timezone, 'UTC');
    assert.equal(s.overlap, 'skip');
    assert.equal(s.catchUpPolicy, 'latest');
    assert.equal(s.catchUpMaxRuns, 10);
    assert.equal(s.kind, 'cron');
  });
  test('a PATCH merges: null clears, a new kind replaces the old one, absent fields stay', () => {
    const current = {
      ...planSchedule({ name: 'n', everyMs: 60_000, endAt: '2027-01-01T00:00:00Z', target: batch }, ctx),
      version: 1,
      updatedAt: ctx.now,
      deletedAt: null,
    } as ScheduleRecord;
    const merged = mergePatch(current, { cron: '0 * * * *', endAt: null, name: undefined });
    assert.equal(merged.everyMs, null);
    assert.equal(merged.cron, '0 * * * *');
    assert.equal(merged.endAt, null);
    assert.equal(merged.name, 'n');
  });
  test('batch and inference bodies are checked as API.md defines them', () => {
    assert.deepEqual(batchBodyProblems({ items: [{ a: 1 }], priority: 3, dedupe: true }), []);
    assert.deepEqual(
      batchBodyProblems({ items: [1], dedupe: 'yes', extra: 1 }).map((d) => d.field),
      ['extra', 'items[0]', 'dedupe'],
    );
    assert.deepEqual(inferenceBodyProblems({ model: 'resnet', inputs: [{ image: 'x' }] }), []);
    assert.deepEqual(
      inferenceBodyProblems({ model: '', input: {}, inputs: [{}] }).map((d) => d.field),
      ['model', 'input'],
    );
  });
});

const taskLike: ScheduleTarget = {
  type: 'task',
  validate: () => [],
  newId: () => 'tsk_x',
  dispatch: () => Promise.resolve(),
  states: () => Promise.resolve(new Map()),
  cancel: () => Promise.resolve(),
};

describe('targets by type', () => {
  test('a known type with no implementation in this build fails with target_unavailable, never silently', () => {
    assert.equal(registry.has('inference'), false);
    assert.throws(
      () => registry.get('inference'),
      (error: unknown) => error instanceof TargetUnavailableError && error.code === 'target_unavailable',
    );
    assert.throws(() => new TargetRegistry([taskLike, taskLike]), /registered twice/);
  });
});
