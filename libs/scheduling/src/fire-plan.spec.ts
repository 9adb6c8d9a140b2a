import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCron, planFire, type FirePlanInput, type ScheduleTiming } from '.';

const at = (s: string): Date => new Date(s);
const isos = (ds: Date[]): string[] => ds.map((d) => d.toISOString());
const hourly: ScheduleTiming = { rule: { kind: 'cron', cron: parseCron('0 * * * *') }, timezone: 'UTC' };
const everySecond: ScheduleTiming = {
  rule: { kind: 'every', everyMs: 1000, anchor: at('2026-01-01T00:00:00Z') },
  timezone: 'UTC',
};
const base: FirePlanInput = {
  policy: 'latest',
  maxRuns: 10,
  createdAt: at('2026-01-01T00:00:00Z'),
  lastScheduledFor: at('2026-01-05T10:00:00Z'),
  now: at('2026-01-05T10:00:00Z'),
  graceMs: 5000,
};

describe('planFire', () => {
  test('on time: the instant that just came fires, whatever the policy', () => {
    for (const policy of ['none', 'latest', 'all'] as const) {
      const plan = planFire(hourly, { ...base, policy, now: at('2026-01-05T11:00:00.020Z') });
      assert.deepEqual(isos(plan.fire), ['2026-01-05T11:00:00.000Z'], policy);
      assert.equal(plan.caughtUpTo?.toISOString(), '2026-01-05T11:00:00.000Z');
      assert.equal(plan.dropped, false);
      assert.equal(plan.nextAt?.toISOString(), '2026-01-05T12:00:00.000Z');
    }
  });

  test('after downtime: none drops the missed runs, latest fires the newest, all fires each up to maxRuns', () => {
    const down = { now: at('2026-01-05T15:30:00Z') };
    assert.deepEqual(planFire(hourly, { ...base, ...down, policy: 'none' }).fire, []);
    assert.equal(planFire(hourly, { ...base, ...down, policy: 'none' }).dropped, true);
    assert.deepEqual(isos(planFire(hourly, { ...base, ...down, policy: 'latest' }).fire), ['2026-01-05T15:00:00.000Z']);
    assert.deepEqual(isos(planFire(hourly, { ...base, ...down, policy: 'all' }).fire), [
      '2026-01-05T11:00:00.000Z',
      '2026-01-05T12:00:00.000Z',
      '2026-01-05T13:00:00.000Z',
      '2026-01-05T14:00:00.000Z',
      '2026-01-05T15:00:00.000Z',
    ]);
    const capped = planFire(hourly, { ...base, ...down, policy: 'all', maxRuns: 2 });
    assert.deepEqual(isos(capped.fire), ['2026-01-05T14:00:00.000Z', '2026-01-05T15:00:00.000Z']);
    assert.equal(capped.dropped, true);
    assert.equal(capped.caughtUpTo?.toISOString(), '2026-01-05T15:00:00.000Z');
  });

  test('a worker a little behind loses nothing: every instant within the grace fires, even with latest', () => {
    const plan = planFire(everySecond, {
      ...base,
      policy: 'latest',
      lastScheduledFor: at('2026-01-05T10:00:00Z'),
      now: at('2026-01-05T10:00:03.500Z'),
    });
    assert.deepEqual(isos(plan.fire), [
      '2026-01-05T10:00:01.000Z',
      '2026-01-05T10:00:02.000Z',
      '2026-01-05T10:00:03.000Z',
    ]);
  });

  test('a week of downtime on a one-second schedule plans in a few steps', () => {
    const started = process.hrtime.bigint();
    const plan = planFire(everySecond, {
      ...base,
      policy: 'all',
      maxRuns: 3,
      lastScheduledFor: at('2026-01-01T00:00:00Z'),
      now: at('2026-01-08T00:00:00Z'),
      graceMs: 0,
    });
    // The instant that is due now is on time; the three before it are the newest missed ones.
    assert.deepEqual(isos(plan.fire), [
      '2026-01-07T23:59:57.000Z',
      '2026-01-07T23:59:58.000Z',
      '2026-01-07T23:59:59.000Z',
      '2026-01-08T00:00:00.000Z',
    ]);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 50);
  });

  test("a job's own instant is due even when lastScheduledFor passed it (a stalled job run again)", () => {
    const input = {
      ...base,
      lastScheduledFor: at('2026-01-05T10:00:30Z'),
      now: at('2026-01-05T10:00:31Z'),
      jobFor: at('2026-01-05T10:00:10Z'),
    };
    assert.deepEqual(isos(planFire(everySecond, { ...input, policy: 'all' }).fire), [
      '2026-01-05T10:00:10.000Z',
      '2026-01-05T10:00:31.000Z',
    ]);
    assert.deepEqual(isos(planFire(everySecond, { ...input, policy: 'none' }).fire), ['2026-01-05T10:00:31.000Z']);
  });

  test('a job that arrives before its instant (clock skew) plans as of its instant', () => {
    const plan = planFire(hourly, { ...base, now: at('2026-01-05T10:59:59.990Z'), jobFor: at('2026-01-05T11:00:00Z') });
    assert.deepEqual(isos(plan.fire), ['2026-01-05T11:00:00.000Z']);
  });

  test('a job time that is no fire time of the schedule plans up to it but fires nothing for it', () => {
    const plan = planFire(hourly, {
      ...base,
      lastScheduledFor: at('2026-01-05T10:00:00Z'),
      now: at('2026-01-05T10:59:59Z'),
      jobFor: at('2026-01-05T11:00:00.150Z'),
    });
    assert.deepEqual(isos(plan.fire), ['2026-01-05T11:00:00.000Z']);
  });

  test('a one-off fires once and then has no next time', () => {
    const once: ScheduleTiming = { rule: { kind: 'once', runAt: at('2026-01-05T10:30:00Z') }, timezone: 'UTC' };
    const plan = planFire(once, { ...base, now: at('2026-01-05T10:30:00.010Z') });
    assert.deepEqual(isos(plan.fire), ['2026-01-05T10:30:00.000Z']);
    assert.equal(plan.nextAt, null);
  });
});
