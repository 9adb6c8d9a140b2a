import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatLocal, nextFireTimes, parseCron, previousFireTime } from '.';

interface Row {
  what: string;
  zone: string;
  cron: string;
  after: string;
  /** Exact UTC instants, then the local time of the first one. */
  fires: string[];
  local?: string;
}

// Real transitions, from the IANA database that Node's ICU carries.
const ROWS: Row[] = [
  // America/New_York 2026: spring forward 03-08 02:00 EST -> 03:00 EDT; fall back 11-01 02:00 EDT -> 01:00 EST.
  {
    what: 'NY skipped 02:30 fires at 03:00 EDT',
    zone: 'America/New_York',
    cron: '30 2 * * *',
    after: '2026-03-07T12:00:00Z',
    fires: ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'],
    local: '2026-03-08T03:00:00-04:00',
  },
  {
    what: 'NY skipped 02:30:30 fires at the gap end, not 03:30:30',
    zone: 'America/New_York',
    cron: '30 30 2 * * *',
    after: '2026-03-08T00:00:00Z',
    fires: ['2026-03-08T07:00:00Z', '2026-03-09T06:30:30Z'],
  },
  {
    what: 'NY 02:00 and 03:00 land on one instant and fire once',
    zone: 'America/New_York',
    cron: '0 2,3 * * *',
    after: '2026-03-08T05:00:00Z',
    fires: ['2026-03-08T07:00:00Z', '2026-03-09T06:00:00Z', '2026-03-09T07:00:00Z'],
  },
  {
    what: 'NY hourly across the gap',
    zone: 'America/New_York',
    cron: '0 * * * *',
    after: '2026-03-08T05:30:00Z',
    fires: ['2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z', '2026-03-08T08:00:00Z'],
  },
  {
    what: 'NY */15 across the gap',
    zone: 'America/New_York',
    cron: '*/15 * * * *',
    after: '2026-03-08T06:40:00Z',
    fires: ['2026-03-08T06:45:00Z', '2026-03-08T07:00:00Z', '2026-03-08T07:15:00Z'],
  },
  {
    what: 'NY repeated 01:30 fires at its first occurrence (EDT)',
    zone: 'America/New_York',
    cron: '30 1 * * *',
    after: '2026-10-31T12:00:00Z',
    fires: ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'],
    local: '2026-11-01T01:30:00-04:00',
  },
  {
    what: 'NY */30 fires the repeated hour once, in its first pass',
    zone: 'America/New_York',
    cron: '*/30 * * * *',
    after: '2026-11-01T04:45:00Z',
    fires: ['2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T07:00:00Z', '2026-11-01T07:30:00Z'],
  },
  {
    what: 'NY from inside the second pass, the next new wall time is 02:00 EST',
    zone: 'America/New_York',
    cron: '*/30 * * * *',
    after: '2026-11-01T06:10:00Z',
    fires: ['2026-11-01T07:00:00Z'],
    local: '2026-11-01T02:00:00-05:00',
  },
  {
    what: 'NY Sundays at 02:30, starting on the spring-forward Sunday',
    zone: 'America/New_York',
    cron: '30 2 * * SUN',
    after: '2026-03-01T12:00:00Z',
    fires: ['2026-03-08T07:00:00Z', '2026-03-15T06:30:00Z'],
  },
  // Europe/London 2026: 03-29 01:00 GMT -> 02:00 BST; 10-25 02:00 BST -> 01:00 GMT.
  {
    what: 'London skipped 01:30 fires at 02:00 BST',
    zone: 'Europe/London',
    cron: '30 1 * * *',
    after: '2026-03-28T12:00:00Z',
    fires: ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'],
    local: '2026-03-29T02:00:00+01:00',
  },
  {
    what: 'London repeated 01:30 fires once, in BST',
    zone: 'Europe/London',
    cron: '30 1 * * *',
    after: '2026-10-24T12:00:00Z',
    fires: ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'],
    local: '2026-10-25T01:30:00+01:00',
  },
  {
    what: 'London */20 skips the second pass',
    zone: 'Europe/London',
    cron: '*/20 * * * *',
    after: '2026-10-25T00:30:00Z',
    fires: ['2026-10-25T00:40:00Z', '2026-10-25T02:00:00Z', '2026-10-25T02:20:00Z'],
  },
  // Australia/Lord_Howe: a 30-minute shift. 2026-04-05 02:00 +11:00 -> 01:30 +10:30; 2026-10-04 02:00 +10:30 -> 02:30 +11:00.
  {
    what: 'Lord Howe repeated 01:45 fires at +11:00',
    zone: 'Australia/Lord_Howe',
    cron: '45 1 * * *',
    after: '2026-04-04T00:00:00Z',
    fires: ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z'],
    local: '2026-04-05T01:45:00+11:00',
  },
  {
    what: 'Lord Howe */10 jumps from 01:50 +11:00 to 02:00 +10:30',
    zone: 'Australia/Lord_Howe',
    cron: '*/10 * * * *',
    after: '2026-04-04T14:45:00Z',
    fires: ['2026-04-04T14:50:00Z', '2026-04-04T15:30:00Z', '2026-04-04T15:40:00Z'],
  },
  {
    what: 'Lord Howe skipped 02:15 fires at 02:30 +11:00',
    zone: 'Australia/Lord_Howe',
    cron: '15 2 * * *',
    after: '2026-10-03T00:00:00Z',
    fires: ['2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'],
    local: '2026-10-04T02:30:00+11:00',
  },
  {
    what: 'Lord Howe 02:00 (skipped) and 02:30 fire once together',
    zone: 'Australia/Lord_Howe',
    cron: '0,30 2 * * *',
    after: '2026-10-03T12:00:00Z',
    fires: ['2026-10-03T15:30:00Z', '2026-10-04T15:00:00Z', '2026-10-04T15:30:00Z'],
  },
  // Zones whose rules changed. Moscow: 2011-03-27 +03 -> +04 for good (no fall back that October), 2014-10-26 +04 -> +03.
  {
    what: 'Moscow 2011 skipped 02:30 fires at 03:00 +04:00',
    zone: 'Europe/Moscow',
    cron: '30 2 * * *',
    after: '2011-03-26T12:00:00Z',
    fires: ['2011-03-26T23:00:00Z', '2011-03-27T22:30:00Z'],
  },
  {
    what: 'Moscow October 2011 kept +04:00: 02:30 occurs once',
    zone: 'Europe/Moscow',
    cron: '30 2 * * *',
    after: '2011-10-29T12:00:00Z',
    fires: ['2011-10-29T22:30:00Z', '2011-10-30T22:30:00Z'],
    local: '2011-10-30T02:30:00+04:00',
  },
  {
    what: 'Moscow 2014 repeated 01:30 fires at +04:00',
    zone: 'Europe/Moscow',
    cron: '30 1 * * *',
    after: '2014-10-25T12:00:00Z',
    fires: ['2014-10-25T21:30:00Z', '2014-10-26T22:30:00Z'],
    local: '2014-10-26T01:30:00+04:00',
  },
  // Sao Paulo: DST began at midnight (2018-11-04 00:00 -> 01:00) and was abolished in 2019 (last fall back 02-17).
  {
    what: 'Sao Paulo skipped midnight fires at 01:00 -02:00',
    zone: 'America/Sao_Paulo',
    cron: '0 0 * * *',
    after: '2018-11-03T12:00:00Z',
    fires: ['2018-11-04T03:00:00Z', '2018-11-05T02:00:00Z'],
    local: '2018-11-04T01:00:00-02:00',
  },
  {
    what: 'Sao Paulo repeated 23:30 fires at -02:00',
    zone: 'America/Sao_Paulo',
    cron: '30 23 * * *',
    after: '2019-02-16T12:00:00Z',
    fires: ['2019-02-17T01:30:00Z', '2019-02-18T02:30:00Z'],
  },
  {
    what: 'Sao Paulo November 2019: no DST any more, midnight exists',
    zone: 'America/Sao_Paulo',
    cron: '0 0 * * *',
    after: '2019-11-02T12:00:00Z',
    fires: ['2019-11-03T03:00:00Z', '2019-11-04T03:00:00Z'],
    local: '2019-11-03T00:00:00-03:00',
  },
];

describe('cron across DST transitions', () => {
  for (const row of ROWS) {
    test(`${row.zone}: ${row.what}`, () => {
      const spec = parseCron(row.cron);
      const fires = nextFireTimes(spec, new Date(row.after), row.fires.length, row.zone);
      assert.deepEqual(
        fires.map((d) => d.toISOString()),
        row.fires.map((s) => new Date(s).toISOString()),
      );
      if (row.local) assert.equal(formatLocal(fires[0], row.zone), row.local);
      // Walking back gives the same instants: previous(fire[i + 1]) is fire[i].
      for (let i = 1; i < fires.length; i++) {
        assert.equal(previousFireTime(spec, fires[i], row.zone)?.toISOString(), fires[i - 1].toISOString());
      }
    });
  }

  test('UTC and zones without DST are unaffected', () => {
    const spec = parseCron('30 2 * * *');
    assert.deepEqual(
      nextFireTimes(spec, new Date('2026-03-08T00:00:00Z'), 2).map((d) => d.toISOString()),
      ['2026-03-08T02:30:00.000Z', '2026-03-09T02:30:00.000Z'],
    );
    assert.equal(
      nextFireTimes(spec, new Date('2026-03-08T00:00:00Z'), 1, 'Asia/Kolkata')[0].toISOString(),
      '2026-03-08T21:00:00.000Z',
    );
    assert.equal(formatLocal(new Date('2026-03-08T21:00:00.500Z'), 'Asia/Kolkata'), '2026-03-09T02:30:00.500+05:30');
    assert.equal(formatLocal(new Date('2026-03-08T21:00:00Z'), 'UTC'), '2026-03-08T21:00:00+00:00');
  });
});
