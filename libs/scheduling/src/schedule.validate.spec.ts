import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatonError } from '@baton/core';
import { validateSchedule, type ScheduleInput } from '.';

const rules = { minEveryMs: 1_000, createdAt: new Date('2026-01-01T00:00:00Z') };

function errorsOf(input: ScheduleInput): Record<string, string> {
  try {
    validateSchedule(input, rules);
  } catch (err) {
    assert.ok(err instanceof BatonError);
    assert.equal(err.code, 'validation_failed');
    return Object.fromEntries((err.details ?? []).map((d) => [d.field, d.message]));
  }
  assert.fail('expected validation_failed');
}

describe('validateSchedule', () => {
  test('applies the defaults: UTC, overlap skip, catch-up latest with 10 runs', () => {
    const def = validateSchedule({ cron: '0 9 * * MON-FRI' }, rules);
    assert.equal(def.timing.rule.kind, 'cron');
    assert.equal(def.timing.timezone, 'UTC');
    assert.equal(def.overlap, 'skip');
    assert.deepEqual(def.catchUp, { policy: 'latest', maxRuns: 10 });
  });
  test('reads each kind, with instants as ISO strings with an offset or as Dates', () => {
    const rate = validateSchedule({ everyMs: 60_000, catchUp: { policy: 'all', maxRuns: 1000 }, cron: null }, rules);
    assert.deepEqual(rate.timing.rule, { kind: 'every', everyMs: 60_000, anchor: rules.createdAt });
    assert.deepEqual(rate.catchUp, { policy: 'all', maxRuns: 1000 });
    const started = validateSchedule({ everyMs: 1_000, startAt: '2026-02-01T09:00:00+01:00' }, rules);
    assert.deepEqual(started.timing.rule, { kind: 'every', everyMs: 1_000, anchor: new Date('2026-02-01T08:00:00Z') });
    const one = validateSchedule({ runAt: new Date('2026-03-01T00:00:00Z'), overlap: 'allow' }, rules);
    const precise = validateSchedule({ runAt: '2026-03-01T05:30:00.250+05:30' }, rules).timing.rule;
    assert.deepEqual(precise, { kind: 'once', runAt: new Date('2026-03-01T00:00:00.250Z') });
    assert.deepEqual(one.timing.rule, { kind: 'once', runAt: new Date('2026-03-01T00:00:00Z') });
    const zoned = validateSchedule(
      { cron: '30 2 * * *', timezone: 'Australia/Lord_Howe', endAt: '2027-01-01T00:00Z' },
      rules,
    );
    assert.equal(zoned.timing.timezone, 'Australia/Lord_Howe');
    assert.deepEqual(zoned.timing.endAt, new Date('2027-01-01T00:00:00Z'));
  });
  test('needs exactly one of cron, everyMs and runAt', () => {
    assert.deepEqual(errorsOf({}), { cron: 'one of cron, everyMs or runAt is required' });
    assert.deepEqual(errorsOf({ cron: '* * * * *', everyMs: 5_000, runAt: '2026-03-01T00:00:00Z' }), {
      everyMs: 'give only one of cron, everyMs or runAt (cron is set)',
      runAt: 'give only one of cron, everyMs or runAt (cron is set)',
    });
  });
  test('names each problem under its API field, all at once', () => {
    assert.deepEqual(
      errorsOf({
        cron: '0 25 * * *',
        timezone: 'Mars/Olympus_Mons',
        startAt: '2026-05-01T00:00:00Z',
        endAt: '2026-04-01T00:00:00Z',
        overlap: 'queue',
        catchUp: { policy: 'some', maxRuns: 0 },
      }),
      {
        cron: 'hour field "25": 25 is out of range 0-23',
        timezone: 'must be a known IANA time zone',
        endAt: 'must be after startAt',
        overlap: 'must be one of allow, skip, cancel_previous',
        'catchUp.policy': 'must be one of none, latest, all',
        'catchUp.maxRuns': 'must be a whole number from 1 to 1000',
      },
    );
  });
  test('rejects bad values of each field', () => {
    const cases: [ScheduleInput, string][] = [
      [{ cron: 42 }, 'cron'],
      [{ cron: '* * *' }, 'cron'],
      [{ cron: '* * * * *', timezone: '' }, 'timezone'],
      [{ cron: '* * * * *', timezone: '+05:00' }, 'timezone'],
      [{ everyMs: 999 }, 'everyMs'],
      [{ everyMs: 1500.5 }, 'everyMs'],
      [{ everyMs: '60000' }, 'everyMs'],
      [{ runAt: '2026-03-01T00:00:00' }, 'runAt'],
      [{ runAt: 'tomorrow' }, 'runAt'],
      [{ runAt: '2026-02-30T00:00:00Z' }, 'runAt'],
      [{ runAt: '2026-01-01T24:00:00Z' }, 'runAt'],
      [{ runAt: new Date(NaN) }, 'runAt'],
      [{ runAt: '2026-03-01T00:00:00Z', startAt: '2026-04-01T00:00:00Z' }, 'runAt'],
      [{ everyMs: 5_000, startAt: '2026-04-01T00:00:00Z', endAt: '2026-04-01T00:00:00Z' }, 'endAt'],
      [{ everyMs: 5_000, catchUp: { policy: 'all', maxRuns: 1001 } }, 'catchUp.maxRuns'],
      [{ everyMs: 5_000, catchUp: { policy: 'all', maxRuns: 2.5 } }, 'catchUp.maxRuns'],
      [{ everyMs: 5_000, catchUp: { maxRuns: 5 } }, 'catchUp.policy'],
      [{ everyMs: 5_000, catchUp: 'all' }, 'catchUp'],
    ];
    for (const [input, field] of cases) assert.deepEqual(Object.keys(errorsOf(input)), [field], JSON.stringify(input));
  });
});
