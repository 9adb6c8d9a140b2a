import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Cron } from 'croner';
import { nextFireTimes, parseCron, previousFireTime, type CronSpec } from '.';
import { forCroner, randomCron, randomInstant, seededRandom, type Random } from './testing/random-cron';
import { offsetAt, wallAt } from './zone';

/**
 * Baton's cron against croner, an independent implementation (BullMQ uses cron-parser; croner shares no code with
 * either). In UTC both must agree exactly. In a zone they follow different DST rules for expressions croner calls
 * "interval" jobs (a wildcard, step, range or list in the time fields): croner runs those in both passes of a
 * repeated hour and skips their times in a gap, where API.md asks for the first pass only and a run at the end of
 * the gap. Each disagreement must be one of those two, checked against croner itself; anything else fails.
 */
const SEED = Number(process.env.CRON_SEED ?? 20261122);
const EXPRESSIONS = 2500;
const FIRES = 5;
const FROM = Date.UTC(2000, 0, 1);
const TO = Date.UTC(2040, 0, 1);
const ZONES = [
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe',
  'Europe/Moscow',
  'America/Sao_Paulo',
  'Pacific/Chatham',
  'America/St_Johns',
  'Asia/Kolkata',
];
const iso = (d: Date): string => d.toISOString();
const DAY = 86_400_000;

type Class = 'second pass (croner fires it, we do not)' | 'gap (we fire at its end, croner skips)' | 'unexplained';

/** Spring-forward and fall-back instants of each zone, to aim a share of the instants at transitions. */
function transitions(zone: string): number[] {
  const out: number[] = [];
  for (let t = FROM; t < TO; t += DAY) {
    if (offsetAt(zone, t) === offsetAt(zone, t + DAY)) continue;
    let [lo, hi] = [t, t + DAY];
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (offsetAt(zone, mid) === offsetAt(zone, lo)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

function instantFor(rand: Random, zone: string, known: Map<string, number[]>): Date {
  const list = known.get(zone) ?? [];
  if (list.length === 0 || rand() < 0.4) return randomInstant(rand, FROM, TO);
  const t = list[Math.floor(rand() * list.length)];
  return randomInstant(rand, t - 36 * 3_600_000, t + 3_600_000);
}

/**
 * Why an instant is in one list and not the other. Croner, read in UTC, says which wall times match, so the
 * explanation does not lean on the code under test.
 */
function classify(
  expr: string,
  zone: string,
  at: Date,
  lists: { ours: Set<string>; croner: Set<string>; after: Date },
): Class {
  const t = at.getTime();
  if (lists.croner.has(iso(at))) {
    // Croner fires this instant of a repeated wall time; both must fire its first pass, one hour or so before.
    if (wallAt(zone, t).repeatEndWall === undefined) return 'unexplained';
    const first = new Date(t + offsetAt(zone, t) - offsetAt(zone, t - DAY));
    const firedBoth = first <= lists.after || (lists.ours.has(iso(first)) && lists.croner.has(iso(first)));
    return firedBoth ? 'second pass (croner fires it, we do not)' : 'unexplained';
  }
  const [before, after] = [offsetAt(zone, t - 1000), offsetAt(zone, t)];
  if (after <= before) return 'unexplained';
  const [gapStart, gapEnd] = [t + before, t + after];
  const slot = new Cron(forCroner(expr), { timezone: 'UTC', paused: true }).nextRun(new Date(gapStart - 1000));
  return slot && slot.getTime() < gapEnd ? 'gap (we fire at its end, croner skips)' : 'unexplained';
}

describe('cron cross-checked against croner', () => {
  test(`${EXPRESSIONS} random expressions, seed ${SEED}`, (t) => {
    const rand = seededRandom(SEED);
    const known = new Map(ZONES.map((z) => [z, transitions(z)]));
    const counts = { comparisons: 0, instants: 0, neverFires: 0, previous: 0, acrossTransition: 0 };
    const classes = new Map<Class, string[]>();
    const note = (c: Class, what: string): void => void classes.set(c, [...(classes.get(c) ?? []), what]);

    for (let i = 0; i < EXPRESSIONS; i++) {
      const expr = randomCron(rand);
      let spec: CronSpec;
      try {
        spec = parseCron(expr);
      } catch {
        counts.neverFires++; // e.g. "0 0 31 2 *"; croner accepts these and finds no run
        continue;
      }
      const croner = (zone: string): Cron =>
        new Cron(forCroner(expr), { timezone: zone, paused: true, mode: '5-or-6-parts' });
      const cases: [string, Date][] = [
        ['UTC', randomInstant(rand, FROM, TO)],
        ['UTC', randomInstant(rand, FROM, TO)],
        ...[0, 1].map((): [string, Date] => {
          const zone = ZONES[Math.floor(rand() * ZONES.length)];
          return [zone, instantFor(rand, zone, known)];
        }),
      ];
      for (const [zone, after] of cases) {
        const what = `#${i} "${expr}" in ${zone} after ${iso(after)}`;
        const ours = nextFireTimes(spec, after, FIRES, zone);
        const theirs = croner(zone).nextRuns(FIRES, after);
        counts.comparisons++;
        counts.instants += ours.length;
        assert.equal(ours.length, FIRES, what);
        if (zone === 'UTC') {
          assert.deepEqual(ours.map(iso), theirs.map(iso), what);
          const previous = croner('UTC').previousRuns(1, ours[FIRES - 1])[0];
          assert.equal(previousFireTime(spec, ours[FIRES - 1])?.toISOString(), iso(previous), `previous of ${what}`);
          counts.previous++;
          continue;
        }
        const end = Math.min(ours[ours.length - 1].getTime(), theirs[theirs.length - 1]?.getTime() ?? -Infinity);
        if (offsetAt(zone, after.getTime()) !== offsetAt(zone, ours[FIRES - 1].getTime())) counts.acrossTransition++;
        const mine = new Set(ours.map(iso));
        const croners = new Set(theirs.map(iso));
        const lists = { ours: mine, croner: croners, after };
        for (const d of [...theirs.filter((x) => !mine.has(iso(x))), ...ours.filter((x) => !croners.has(iso(x)))]) {
          const side = mine.has(iso(d)) ? 'ours' : 'croner';
          if (d.getTime() <= end) note(classify(expr, zone, d, lists), `${what}: only ${side} ${iso(d)}`);
        }
        // Our own consistency: walking back from each fire time finds the one before it.
        for (let k = 1; k < ours.length; k++) {
          assert.equal(previousFireTime(spec, ours[k], zone)?.toISOString(), iso(ours[k - 1]), `previous of ${what}`);
          counts.previous++;
        }
      }
    }

    t.diagnostic(
      `seed ${SEED}: ${counts.comparisons} comparisons, ${counts.instants} fire times, ${counts.previous} previous-run checks`,
    );
    t.diagnostic(`${counts.acrossTransition} zone comparisons span a change of offset`);
    t.diagnostic(`${counts.neverFires} generated expressions never fire and were rejected by parseCron`);
    for (const [c, items] of classes) t.diagnostic(`${c}: ${items.length}, e.g. ${items.slice(0, 2).join(' | ')}`);
    assert.ok(counts.comparisons >= 5000, 'at least 5,000 comparisons');
    assert.deepEqual(classes.get('unexplained') ?? [], []);
  });
});
