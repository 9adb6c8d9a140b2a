import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextFireTimes, parseCron, type CronSpec } from '.';
import { randomCron, seededRandom } from './testing/random-cron';

/**
 * API.md's DST rule checked by brute force where croner cannot help (it follows Vixie cron there): walk a zone's
 * clock minute by minute across a transition, note the first instant each wall time appears, and build the fire
 * times the rule asks for from that table alone, testing each wall minute against the parsed fields. Nothing here
 * uses the zone or search code under test (the parser is checked against croner in cron.crosscheck.spec.ts).
 */
const SEED = Number(process.env.CRON_SEED ?? 20261122);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const EXPRESSIONS_PER_TRANSITION = 40;

// [zone, an instant just after a transition]: the 2026 changes of the test zones, rule changes, a 30-minute
// shift, a 45-minute zone, a 2-hour shift (Troll) and a whole day skipped (Apia, 2011-12-30).
const TRANSITIONS: [string, string][] = [
  ['America/New_York', '2026-03-08T07:00:00Z'],
  ['America/New_York', '2026-11-01T06:00:00Z'],
  ['Europe/London', '2026-03-29T01:00:00Z'],
  ['Europe/London', '2026-10-25T01:00:00Z'],
  ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
  ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
  ['Europe/Moscow', '2011-03-26T23:00:00Z'],
  ['Europe/Moscow', '2014-10-25T22:00:00Z'],
  ['America/Sao_Paulo', '2018-11-04T03:00:00Z'],
  ['America/Sao_Paulo', '2019-02-17T02:00:00Z'],
  ['Pacific/Chatham', '2026-04-04T14:00:00Z'],
  ['Pacific/Chatham', '2026-09-26T14:00:00Z'],
  ['Antarctica/Troll', '2026-03-29T01:00:00Z'],
  ['Antarctica/Troll', '2026-10-25T01:00:00Z'],
  ['Pacific/Apia', '2011-12-30T10:00:00Z'],
];

function wallClock(zone: string): (instant: number) => number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  return (instant) => {
    const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, Number(x.value)]));
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
  };
}

/** Whether a wall minute matches, read straight off the parsed fields. */
function matches(spec: CronSpec, wall: number): boolean {
  const d = new Date(wall);
  const byMonthDay = spec.daysOfMonth.includes(d.getUTCDate());
  const byWeekday = spec.daysOfWeek.includes(d.getUTCDay());
  const day = spec.dayOfMonthRestricted && spec.dayOfWeekRestricted ? byMonthDay || byWeekday : byMonthDay && byWeekday;
  return (
    day &&
    spec.months.includes(d.getUTCMonth() + 1) &&
    spec.hours.includes(d.getUTCHours()) &&
    spec.minutes.includes(d.getUTCMinutes())
  );
}

describe('cron DST rule against a brute-force model', () => {
  for (const [zone, at] of TRANSITIONS) {
    test(`${zone} around ${at}`, () => {
      const rand = seededRandom(SEED ^ (Date.parse(at) / MINUTE));
      const wallOf = wallClock(zone);
      // The model: every minute of [T - 40h, T + 40h] and its wall time, first occurrences only.
      const minutes: { t: number; wall: number }[] = [];
      const firstSeen = new Map<number, number>();
      for (let t = Date.parse(at) - 40 * HOUR; t <= Date.parse(at) + 40 * HOUR; t += MINUTE) {
        const wall = wallOf(t);
        minutes.push({ t, wall });
        if (!firstSeen.has(wall)) firstSeen.set(wall, t);
      }
      // A wall time never seen fell in a gap: it fires at the first instant whose wall time is later.
      const fireFor = (wall: number): number =>
        firstSeen.get(wall) ?? minutes.find((m) => m.wall > wall)?.t ?? Infinity;
      const [from, to] = [Date.parse(at) - 30 * HOUR, Date.parse(at) + 30 * HOUR];
      // Every wall minute of the span, those skipped by a gap included.
      const [lowest, highest] = [Math.min(...firstSeen.keys()), Math.max(...firstSeen.keys())];
      const walls = Array.from({ length: (highest - lowest) / MINUTE + 1 }, (_, k) => lowest + k * MINUTE);

      for (let i = 0; i < EXPRESSIONS_PER_TRANSITION; i++) {
        const expr = randomCron(rand, 0);
        let spec: CronSpec;
        try {
          spec = parseCron(expr);
        } catch {
          continue;
        }
        const expected = [...new Set(walls.filter((w) => matches(spec, w)).map(fireFor))]
          .filter((t) => t > from && t <= to)
          .sort((a, b) => a - b);
        const ours = nextFireTimes(spec, new Date(from), expected.length + 1, zone).filter((d) => d.getTime() <= to);
        assert.deepEqual(
          ours.map((d) => d.toISOString()),
          expected.map((t) => new Date(t).toISOString()),
          `"${expr}" in ${zone} after ${new Date(from).toISOString()}`,
        );
      }
    });
  }
});
