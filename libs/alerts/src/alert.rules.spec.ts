import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backlogBreach, deadlineMet, deadlineState, isStuck, predictFinish } from '.';

const at = (s: string): Date => new Date(s);
const base = {
  now: at('2026-01-04T02:00:00Z'),
  firedAt: at('2026-01-04T00:00:00Z'),
  startedAt: at('2026-01-04T00:00:00Z'),
  progress: null,
  pastDurationsMs: [],
  expectedDurationMs: null,
};

describe('predictFinish', () => {
  test('from the progress rate first: 25 % after 2 h finishes 8 h after the start', () => {
    const p = predictFinish({ ...base, progress: 25, pastDurationsMs: [3_600_000], expectedDurationMs: 1 });
    assert.deepEqual(p, { at: at('2026-01-04T08:00:00Z'), basis: 'progress' });
  });
  test('else from the median of past durations, counted from the fire time', () => {
    const p = predictFinish({ ...base, pastDurationsMs: [3 * 3_600_000, 5 * 3_600_000, 4 * 3_600_000] });
    assert.deepEqual(p, { at: at('2026-01-04T04:00:00Z'), basis: 'history' });
  });
  test('else from expectedDurationMs, counted from the start; never before now', () => {
    assert.deepEqual(predictFinish({ ...base, expectedDurationMs: 8 * 3_600_000 }), {
      at: at('2026-01-04T08:00:00Z'),
      basis: 'expected',
    });
    assert.deepEqual(predictFinish({ ...base, expectedDurationMs: 60_000 })?.at, base.now);
    assert.equal(predictFinish(base), null);
  });
  test('progress 0 or 100 says nothing about the rate', () => {
    assert.equal(predictFinish({ ...base, progress: 0, expectedDurationMs: 1000 })?.basis, 'expected');
    assert.equal(predictFinish({ ...base, progress: 100 }), null);
  });
});

describe('deadlines', () => {
  const deadline = at('2026-01-06T23:59:00Z');
  test('at risk only before the deadline, when the prediction passes it; missed once it has passed', () => {
    const late = { at: at('2026-01-07T01:00:00Z'), basis: 'progress' as const };
    const early = { at: at('2026-01-04T08:00:00Z'), basis: 'expected' as const };
    assert.equal(deadlineState(deadline, late, at('2026-01-05T00:00:00Z')), 'at_risk');
    assert.equal(deadlineState(deadline, early, at('2026-01-05T00:00:00Z')), 'on_track');
    assert.equal(deadlineState(deadline, null, at('2026-01-05T00:00:00Z')), 'on_track');
    assert.equal(deadlineState(deadline, late, at('2026-01-06T23:59:00Z')), 'missed');
  });
  test('met means succeeded no later than the deadline', () => {
    assert.equal(deadlineMet('succeeded', at('2026-01-06T23:59:00Z'), deadline), true);
    assert.equal(deadlineMet('succeeded', at('2026-01-07T00:00:00Z'), deadline), false);
    assert.equal(deadlineMet('failed', at('2026-01-05T00:00:00Z'), deadline), false);
    assert.equal(deadlineMet('succeeded', at('2026-01-05T00:00:00Z'), null), null);
  });
});

describe('backlog and stuck', () => {
  const bounds = { maxWaiting: 100, maxOldestWaitingMs: 60_000 };
  test('a queue is backed up when its waiting count or its oldest job age passes a bound', () => {
    assert.equal(backlogBreach({ name: 'tasks', waiting: 100, oldestWaitingMs: 60_000 }, bounds), null);
    assert.match(backlogBreach({ name: 'tasks', waiting: 101, oldestWaitingMs: 0 }, bounds)!, /101 jobs waiting/);
    assert.match(backlogBreach({ name: 'tasks', waiting: 1, oldestWaitingMs: 61_000 }, bounds)!, /61 s old/);
  });
  test('stuck when the last heartbeat (or the start, before any) is older than the bound', () => {
    const now = at('2026-01-01T00:10:00Z');
    assert.equal(isStuck(at('2026-01-01T00:08:00Z'), null, now, 60_000), true);
    assert.equal(isStuck(at('2026-01-01T00:09:30Z'), null, now, 60_000), false);
    assert.equal(isStuck(null, at('2026-01-01T00:00:00Z'), now, 60_000), true);
    assert.equal(isStuck(null, null, now, 60_000), false);
  });
});
