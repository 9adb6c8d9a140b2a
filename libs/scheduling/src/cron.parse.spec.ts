import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatonError } from '@baton/core';
import { nextFireTimes, parseCron } from '.';

const utc = (expr: string, after: string, count = 3): string[] =>
  nextFireTimes(parseCron(expr), new Date(after), count).map((d) => d.toISOString());

describe('parseCron', () => {
  test('reads values, ranges, steps, lists, names, ? and nicknames', () => {
    const cases: [string, Partial<Record<string, number[]>>][] = [
      ['*/15 * * * *', { seconds: [0], minutes: [0, 15, 30, 45] }],
      ['10-20/5 1,2,3 * * *', { minutes: [10, 15, 20], hours: [1, 2, 3] }],
      ['5/20 * * * *', { minutes: [5, 25, 45] }],
      ['0 0 * JAN-MAR,dec *', { months: [1, 2, 3, 12] }],
      ['0 0 ? * MON-FRI', { daysOfWeek: [1, 2, 3, 4, 5], daysOfMonth: range(1, 31) }],
      ['0 0 * * 7', { daysOfWeek: [0] }],
      ['0 0 * * 5-7', { daysOfWeek: [0, 5, 6] }],
      ['0 0 * * */2', { daysOfWeek: [0, 2, 4, 6] }],
      ['0 0 * * MON-SUN', { daysOfWeek: [0, 1, 2, 3, 4, 5, 6] }],
      ['0 0 * * fri-sun', { daysOfWeek: [0, 5, 6] }],
      ['0 0 * * SUN-SUN', { daysOfWeek: [0] }],
      ['30 */20 9 * * *', { seconds: [30], minutes: [0, 20, 40], hours: [9] }],
      ['  0   12\t* * *  ', { minutes: [0], hours: [12] }],
      ['@daily', { seconds: [0], minutes: [0], hours: [0] }],
      ['@Weekly', { daysOfWeek: [0] }],
    ];
    for (const [expr, fields] of cases) {
      const spec = parseCron(expr);
      for (const [name, values] of Object.entries(fields)) {
        assert.deepEqual(spec[name as keyof typeof spec], values, `${expr} ${name}`);
      }
    }
  });

  test('day-of-month and day-of-week: either matches when both are restricted, else the restricted one decides', () => {
    // 2026-03-01 is a Sunday. Days 13 or Fridays:
    assert.deepEqual(utc('0 0 13 * FRI', '2026-03-01T00:00:00Z', 4), [
      '2026-03-06T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-03-20T00:00:00.000Z',
      '2026-03-27T00:00:00.000Z',
    ]);
    assert.deepEqual(utc('0 0 13 * *', '2026-03-01T00:00:00Z', 2), [
      '2026-03-13T00:00:00.000Z',
      '2026-04-13T00:00:00.000Z',
    ]);
    assert.deepEqual(utc('0 0 ? * FRI', '2026-03-01T00:00:00Z', 2), [
      '2026-03-06T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
    ]);
    // `*/10` restricts day-of-month (Vixie cron would call it unrestricted because it starts with *): days 1, 11,
    // 21, 31 or Mondays.
    assert.deepEqual(utc('0 0 */10 * MON', '2026-03-01T00:00:00Z', 4), [
      '2026-03-02T00:00:00.000Z',
      '2026-03-09T00:00:00.000Z',
      '2026-03-11T00:00:00.000Z',
      '2026-03-16T00:00:00.000Z',
    ]);
  });

  test('finds rare days: February 29 skips 2100, which is not a leap year', () => {
    assert.deepEqual(utc('0 0 29 2 *', '2096-03-01T00:00:00Z', 2), [
      '2104-02-29T00:00:00.000Z',
      '2108-02-29T00:00:00.000Z',
    ]);
    assert.deepEqual(utc('0 0 31 * *', '2026-04-01T00:00:00Z', 2), [
      '2026-05-31T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
    ]);
  });

  test('names each mistake precisely, under the field given', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['* * * *', /expected 5 fields .* or 6 .*got 4/],
      ['* * * * * * *', /got 7/],
      ['60 * * * *', /minute field "60": 60 is out of range 0-59/],
      ['0 0 24 * * *', /hour field "24": 24 is out of range 0-23/],
      ['0 0 0 * *', /day-of-month field "0": 0 is out of range 1-31/],
      ['0 0 * 13 *', /month field "13"/],
      ['0 0 * * 8', /day-of-week field "8": 8 is out of range 0-7/],
      ['0 0 * FOO *', /month field "FOO": "FOO" is not a number or a known name/],
      ['*/0 * * * *', /minute field "\*\/0": step "0" must be a whole number from 1 to 59/],
      ['*/x * * * *', /step "x"/],
      ['1-2-3 * * * *', /"1-2-3" is not a range/],
      ['5- * * * *', /a range is missing a bound/],
      ['30-10 * * * *', /range 30-10 runs backwards/],
      ['0 0 * * FRI-MON', /runs backwards/],
      ['1,,2 * * * *', /empty list item/],
      ['*/5/2 * * * *', /more than one "\/"/],
      ['? * * * *', /"\?" is only allowed in the day fields/],
      ['0 0 L * *', /'L', 'W' and '#' are not supported/],
      ['0 0 * * 5#3', /not supported/],
      ['0 0 15W * *', /not supported/],
      ['-1 * * * *', /a range is missing a bound/],
      ['1.5 * * * *', /"1.5" is not a number/],
      ['0 0 30 2 *', /never fires: day-of-month "30" does not occur in month "2"/],
      ['0 0 31 4,6,9,11 *', /never fires/],
      ['@reboot', /unknown nickname @reboot/],
    ];
    for (const [expr, message] of cases) {
      assert.throws(
        () => parseCron(expr, 'schedule.cron'),
        (err: unknown) => {
          assert.ok(err instanceof BatonError, expr);
          assert.equal(err.code, 'validation_failed');
          assert.equal(err.details?.[0].field, 'schedule.cron');
          assert.match(err.details?.[0].message ?? '', message, expr);
          return true;
        },
      );
    }
    // February 30 with a weekday is fine: either day field may match.
    assert.doesNotThrow(() => parseCron('0 0 30 2 MON'));
    assert.doesNotThrow(() => parseCron('0 0 29 2 *'));
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
