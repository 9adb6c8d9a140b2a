import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { planFire, fireTimeBefore, fireTimesAfter, parseCron, upcoming, type ScheduleTiming } from '.';

const at = (s: string): Date => new Date(s);
const isos = (ds: Date[]): string[] => ds.map((d) => d.toISOString());
const cron = (expr: string, timezone = 'UTC', bounds: Partial<ScheduleTiming> = {}): ScheduleTiming => ({
  rule: { kind: 'cron', cron: parseCron(expr) },
  timezone,
  ...bounds,
});
const every = (everyMs: number, anchor: string, bounds: Partial<ScheduleTiming> = {}): ScheduleTiming => ({
  rule: { kind: 'every', everyMs, anchor: at(anchor) },
  timezone: 'UTC',
  ...bounds,
});
const once = (runAt: string, bounds: Partial<ScheduleTiming> = {}): ScheduleTiming => ({
  rule: { kind: 'once', runAt: at(runAt) },
  timezone: 'Europe/London',
  ...bounds,
});

describe('fixed rate and one-off', () => {
  test('a fixed rate counts from its anchor, whatever the instant asked about', () => {
    const s = every(90_000, '2026-01-01T00:00:00.250Z');
    assert.deepEqual(isos(fireTimesAfter(s, at('2025-12-31T00:00:00Z'), 2)), [
      '2026-01-01T00:00:00.250Z',
      '2026-01-01T00:01:30.250Z',
    ]);
    assert.deepEqual(isos(fireTimesAfter(s, at('2026-01-01T00:01:30.250Z'), 1)), ['2026-01-01T00:03:00.250Z']);
    assert.equal(fireTimeBefore(s, at('2026-01-01T00:03:00.250Z'))?.toISOString(), '2026-01-01T00:01:30.250Z');
    assert.equal(fireTimeBefore(s, at('2026-01-01T00:00:00.250Z')), null);
  });
  test('a fixed rate ignores DST: absolute time, not wall-clock time', () => {
    const s = every(3_600_000, '2026-03-08T05:00:00Z');
    assert.deepEqual(isos(fireTimesAfter(s, at('2026-03-08T05:30:00Z'), 2)), [
      '2026-03-08T06:00:00.000Z',
      '2026-03-08T07:00:00.000Z',
    ]);
  });
  test('a one-off fires once, strictly after the instant asked about', () => {
    const s = once('2026-06-01T12:00:00Z');
    assert.deepEqual(isos(fireTimesAfter(s, at('2026-06-01T11:59:59.999Z'), 3)), ['2026-06-01T12:00:00.000Z']);
    assert.deepEqual(fireTimesAfter(s, at('2026-06-01T12:00:00Z'), 3), []);
    assert.equal(fireTimeBefore(s, at('2026-06-01T12:00:00.001Z'))?.toISOString(), '2026-06-01T12:00:00.000Z');
  });
  test('startAt and endAt bound every kind, both inclusive', () => {
    const bounds = { startAt: at('2026-05-02T00:00:00Z'), endAt: at('2026-05-04T00:00:00Z') };
    assert.deepEqual(isos(fireTimesAfter(cron('0 0 * * *', 'UTC', bounds), at('2026-01-01T00:00:00Z'), 10)), [
      '2026-05-02T00:00:00.000Z',
      '2026-05-03T00:00:00.000Z',
      '2026-05-04T00:00:00.000Z',
    ]);
    assert.equal(
      fireTimeBefore(cron('0 0 * * *', 'UTC', bounds), at('2027-01-01T00:00:00Z'))?.toISOString(),
      '2026-05-04T00:00:00.000Z',
    );
    assert.equal(fireTimeBefore(cron('0 0 * * *', 'UTC', bounds), at('2026-05-02T00:00:00Z')), null);
    const rate = every(86_400_000, '2026-05-02T00:00:00Z', bounds);
    assert.equal(fireTimesAfter(rate, at('2026-01-01T00:00:00Z'), 10).length, 3);
    assert.deepEqual(fireTimesAfter(once('2026-05-05T00:00:00Z', bounds), at('2026-01-01T00:00:00Z'), 1), []);
  });
});

describe('upcoming', () => {
  test('lists what will fire, in UTC and as local time in the schedule zone', () => {
    const runs = upcoming(cron('30 2 * * *', 'America/New_York'), at('2026-03-07T12:00:00Z'), 3);
    assert.deepEqual(
      runs.map((r) => [r.at.toISOString(), r.local]),
      [
        ['2026-03-08T07:00:00.000Z', '2026-03-08T03:00:00-04:00'],
        ['2026-03-09T06:30:00.000Z', '2026-03-09T02:30:00-04:00'],
        ['2026-03-10T06:30:00.000Z', '2026-03-10T02:30:00-04:00'],
      ],
    );
    const timing = cron('*/30 1-2 * * *', 'Europe/London');
    const now = at('2026-10-25T00:00:00Z');
    assert.deepEqual(
      upcoming(timing, now, 4).map((r) => r.local),
      [
        '2026-10-25T01:30:00+01:00',
        '2026-10-25T02:00:00+00:00',
        '2026-10-25T02:30:00+00:00',
        '2026-10-26T01:00:00+00:00',
      ],
    );
    // Exactly what fires: the scheduler's next run after each fire is the next entry.
    let last = now;
    for (const run of upcoming(timing, now, 4)) {
      assert.equal(fireTimesAfter(timing, last, 1)[0].toISOString(), run.at.toISOString());
      last = run.at;
    }
  });
});

describe('catch-up after downtime (planFire, the one planner the scheduler uses)', () => {
  const hourly = cron('0 * * * *');
  const base = { maxRuns: 3, createdAt: at('2026-01-01T00:00:00Z'), graceMs: 60_000 };
  const down = { lastScheduledFor: at('2026-01-05T10:00:00Z'), now: at('2026-01-05T15:30:00Z') };
  test('none skips what was missed and goes on from the next future time', () => {
    assert.deepEqual(planFire(hourly, { ...base, ...down, policy: 'none' }), {
      fire: [],
      caughtUpTo: at('2026-01-05T15:00:00Z'),
      dropped: true,
      nextAt: at('2026-01-05T16:00:00Z'),
    });
  });
  test('latest fires one run, for the most recent missed instant', () => {
    const plan = planFire(hourly, { ...base, ...down, policy: 'latest' });
    assert.deepEqual(isos(plan.fire), ['2026-01-05T15:00:00.000Z']);
    assert.equal(plan.dropped, true);
  });
  test('all fires each missed run oldest first, keeping the newest maxRuns', () => {
    const plan = planFire(hourly, { ...base, ...down, policy: 'all' });
    assert.deepEqual(isos(plan.fire), [
      '2026-01-05T13:00:00.000Z',
      '2026-01-05T14:00:00.000Z',
      '2026-01-05T15:00:00.000Z',
    ]);
    assert.equal(plan.dropped, true);
    const few = planFire(hourly, { ...base, ...down, maxRuns: 10, policy: 'all' });
    assert.equal(few.fire.length, 5);
    assert.equal(few.dropped, false);
  });
  test('a slightly late tick is not downtime: on-time runs fire under every policy', () => {
    const now = at('2026-01-05T11:00:20Z');
    for (const policy of ['none', 'latest', 'all'] as const) {
      const plan = planFire(hourly, { ...base, lastScheduledFor: at('2026-01-05T10:00:00Z'), now, policy });
      assert.deepEqual(isos(plan.fire), ['2026-01-05T11:00:00.000Z'], policy);
      assert.equal(plan.dropped, false);
    }
  });
  test('before the first run, instants from creation on are due; nothing due means nothing to do', () => {
    const plan = planFire(every(60_000, '2026-01-01T00:00:00Z'), {
      ...base,
      now: at('2026-01-01T00:02:30Z'),
      policy: 'all',
    });
    assert.deepEqual(isos(plan.fire), [
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
    ]);
    const idle = planFire(hourly, {
      ...base,
      lastScheduledFor: at('2026-01-05T10:00:00Z'),
      now: at('2026-01-05T10:59:59Z'),
      policy: 'all',
    });
    assert.deepEqual(idle, { fire: [], caughtUpTo: null, dropped: false, nextAt: at('2026-01-05T11:00:00Z') });
    const done = planFire(once('2026-01-01T06:00:00Z'), {
      ...base,
      lastScheduledFor: at('2026-01-01T06:00:00Z'),
      now: at('2026-02-01T00:00:00Z'),
      policy: 'all',
    });
    assert.deepEqual(done, { fire: [], caughtUpTo: null, dropped: false, nextAt: null });
  });
  test('a week of every-second runs costs maxRuns steps, not 600,000', () => {
    const everySecond = cron('* * * * * *', 'America/New_York');
    const input = { ...base, lastScheduledFor: at('2026-03-01T00:00:00Z'), now: at('2026-03-08T12:00:00.500Z') };
    const started = performance.now();
    for (const policy of ['none', 'latest', 'all'] as const) {
      const plan = planFire(everySecond, { ...input, maxRuns: 1000, policy });
      assert.equal(plan.dropped, true);
      assert.equal(plan.caughtUpTo?.toISOString(), '2026-03-08T12:00:00.000Z');
      assert.equal(plan.nextAt?.toISOString(), '2026-03-08T12:00:01.000Z');
      // The 60 instants within the grace are on time and fire under every policy; then latest adds the newest
      // missed one and all the newest maxRuns missed ones.
      assert.equal(plan.fire.length, { none: 60, latest: 61, all: 1060 }[policy]);
    }
    assert.ok(performance.now() - started < 2_000);
  });
});
