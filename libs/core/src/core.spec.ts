import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allows,
  backoffDelay,
  canonicalJson,
  canTransition,
  countsAddUp,
  endedPercent,
  decideIdempotency,
  decodeCursor,
  encodeCursor,
  isId,
  isPrivateAddress,
  newId,
  parseLimit,
  rateLease,
  MAX_RATE_LEASE,
  requestFingerprint,
  rollUp,
  toPage,
  withChanges,
  BatonError,
  type Counts,
} from '.';

describe('ids', () => {
  test('carry their type prefix, are unique and sort by creation time', () => {
    const a = newId('task', 1_700_000_000_000);
    const b = newId('task', 1_700_000_000_001);
    assert.match(a, /^tsk_[0-9a-z]{26}$/);
    assert.ok(a < b);
    const many = new Set(Array.from({ length: 10_000 }, () => newId('batch')));
    assert.equal(many.size, 10_000);
  });
  test('isId checks kind and shape', () => {
    assert.equal(isId('task', newId('task')), true);
    assert.equal(isId('batch', newId('task')), false);
    assert.equal(isId('task', 'tsk_../../etc'), false);
    assert.equal(isId('task', 'tsk_'), false);
  });
});

describe('status rules', () => {
  const counts = (c: Partial<Counts>): Counts => ({
    total: 0,
    queued: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    ...c,
  });
  test('terminal states never move; running may go back to queued for a retry', () => {
    assert.equal(canTransition('succeeded', 'running'), false);
    assert.equal(canTransition('cancelled', 'queued'), false);
    assert.equal(canTransition('running', 'queued'), true);
    assert.equal(canTransition('queued', 'running'), true);
  });
  test('roll-up follows API.md', () => {
    assert.deepEqual(rollUp(counts({ total: 3, queued: 3 })), { status: 'queued', outcome: null });
    assert.deepEqual(rollUp(counts({ total: 3, queued: 2, succeeded: 1 })), { status: 'running', outcome: null });
    assert.deepEqual(rollUp(counts({ total: 3, succeeded: 3 })), { status: 'succeeded', outcome: 'all_succeeded' });
    assert.deepEqual(rollUp(counts({ total: 3, succeeded: 2, failed: 1 })), { status: 'failed', outcome: 'partial' });
    assert.deepEqual(rollUp(counts({ total: 3, failed: 3 })), { status: 'failed', outcome: 'all_failed' });
    assert.deepEqual(rollUp(counts({ total: 3, succeeded: 1, cancelled: 2 }), true), {
      status: 'cancelled',
      outcome: 'cancelled',
    });
    assert.equal(countsAddUp(counts({ total: 3, succeeded: 2, failed: 1 })), true);
    assert.equal(countsAddUp(counts({ total: 3, succeeded: 2 })), false);
    assert.equal(endedPercent(counts({ total: 3, queued: 1, succeeded: 1, failed: 1 })), 66);
    assert.equal(endedPercent(counts({ total: 4, running: 4 })), 0);
    assert.equal(endedPercent(counts({ total: 2, cancelled: 1, succeeded: 1 })), 100);
    assert.equal(endedPercent(counts({ total: 0 })), 100);
  });
});

describe('backoff', () => {
  const policy = { baseMs: 100, maxMs: 5_000, jitter: 'none' as const };
  test('doubles from the base and stops at the cap', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 7, 50, 5000].map((a) => backoffDelay(a, policy)),
      [100, 200, 400, 800, 5000, 5000, 5000],
    );
  });
  test('full jitter stays within [0, capped exponential) and spreads out', () => {
    const delays = Array.from({ length: 2000 }, () => backoffDelay(4, { ...policy, jitter: 'full' }));
    assert.ok(delays.every((d) => d >= 0 && d < 800));
    assert.ok(new Set(delays).size > 100, 'delays should differ');
    assert.equal(
      backoffDelay(3, { ...policy, jitter: 'full' }, () => 0.5),
      200,
    );
  });
});

describe('fingerprints', () => {
  test('ignore key order, not values', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } }),
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
    assert.equal(
      requestFingerprint('POST /v1/tasks', { a: 1, b: 2 }),
      requestFingerprint('POST /v1/tasks', { b: 2, a: 1 }),
    );
    assert.notEqual(requestFingerprint('POST /v1/tasks', { a: 1 }), requestFingerprint('POST /v1/tasks', { a: 2 }));
    assert.notEqual(requestFingerprint('POST /v1/tasks', { a: 1 }), requestFingerprint('POST /v1/batches', { a: 1 }));
  });
});

describe('idempotency decisions', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const record = {
    operation: 'POST /v1/tasks',
    fingerprint: 'f1',
    state: 'completed' as const,
    createdAt: new Date(now.getTime() - 1000),
    expiresAt: new Date(now.getTime() + 3600_000),
  };
  const same = { operation: 'POST /v1/tasks', fingerprint: 'f1' };
  test('same body replays, different body is refused, in-flight is a conflict', () => {
    assert.equal(decideIdempotency(record, same, now, 60_000).kind, 'replay');
    assert.equal(decideIdempotency(record, { ...same, fingerprint: 'f2' }, now, 60_000).kind, 'key_reused');
    assert.equal(decideIdempotency({ ...record, state: 'in_progress' }, same, now, 60_000).kind, 'in_progress');
    assert.equal(
      decideIdempotency({ ...record, state: 'in_progress' }, { ...same, fingerprint: 'f2' }, now, 60_000).kind,
      'key_reused',
    );
  });
  test('a stale in-progress record or an expired one is taken over', () => {
    const stale = { ...record, state: 'in_progress' as const, createdAt: new Date(now.getTime() - 120_000) };
    assert.equal(decideIdempotency(stale, same, now, 60_000).kind, 'take_over');
    const expired = { ...record, expiresAt: new Date(now.getTime() - 1) };
    assert.equal(decideIdempotency(expired, { ...same, fingerprint: 'other' }, now, 60_000).kind, 'take_over');
  });
});

describe('pagination', () => {
  test('limits are checked and cursors round-trip', () => {
    assert.equal(parseLimit(undefined), 100);
    assert.equal(parseLimit('1000'), 1000);
    for (const bad of ['0', '1001', 'x', '1.5', '-1']) assert.throws(() => parseLimit(bad), BatonError);
    assert.equal(decodeCursor(encodeCursor('tsk_123')), 'tsk_123');
    assert.throws(() => decodeCursor('%%%'), BatonError);
  });
  test('a page says whether more rows follow', () => {
    const page = toPage([1, 2, 3], 2, String);
    assert.deepEqual(page.data, [1, 2]);
    assert.equal(decodeCursor(page.nextCursor!), '2');
    assert.equal(toPage([1, 2], 2, String).nextCursor, null);
  });
});

describe('access', () => {
  test('roles', () => {
    assert.equal(allows('viewer', 'read'), true);
    assert.equal(allows('viewer', 'write'), false);
    assert.equal(allows('member', 'write'), true);
    assert.equal(allows('member', 'admin'), false);
    assert.equal(allows('admin', 'admin'), true);
  });
  test('private addresses are recognised', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
    ]) {
      assert.equal(isPrivateAddress(ip), true, ip);
    }
    for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111']) assert.equal(isPrivateAddress(ip), false, ip);
  });
});

describe('rate leases', () => {
  test('one point when nothing is known or little is left; a sixteenth of what is left, capped', () => {
    assert.equal(rateLease(undefined), 1);
    assert.equal(rateLease(0), 1);
    assert.equal(rateLease(-3), 1);
    assert.equal(rateLease(31), 1, 'a key near its limit is counted request by request');
    assert.equal(rateLease(199), 12);
    assert.equal(rateLease(1600), MAX_RATE_LEASE);
    assert.equal(rateLease(1_000_000), MAX_RATE_LEASE);
  });
  test('a lease never takes the key past its limit: leases taken in turn stop at what was left', () => {
    let left = 200;
    let taken = 0;
    while (left > 0) {
      const lease = rateLease(left);
      assert.ok(lease <= left);
      left -= lease;
      taken += lease;
    }
    assert.equal(taken, 200);
  });
});

describe('Coalescer', () => {
  test('merges calls made in the same turn, keeps each result with its caller', async () => {
    const { Coalescer } = await import('.');
    const batches: number[][] = [];
    const c = new Coalescer<number, number>(
      async (items) => {
        batches.push(items);
        await new Promise((r) => setTimeout(r, 5));
        return items.map((i) => i * 10);
      },
      { maxBatch: 4, maxConcurrent: 1 },
    );
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => c.submit(i)));
    assert.deepEqual(results, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(batches, [
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });
  test('a failed batch fails its own callers only', async () => {
    const { Coalescer } = await import('.');
    let calls = 0;
    const c = new Coalescer<number, number>(
      (items) => (++calls === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(items)),
      { maxBatch: 2, maxConcurrent: 1 },
    );
    const settled = await Promise.allSettled([1, 2, 3].map((i) => c.submit(i)));
    assert.deepEqual(
      settled.map((s) => s.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
  });
});

describe('withChanges', () => {
  test('copies the base with the changes over it, leaving both as they were', () => {
    const base = { id: 'a', status: 'queued', attempts: 0 };
    const changes = { status: 'succeeded', finishedAt: 5 };
    const copy = withChanges(base, changes);
    assert.deepEqual(copy, { id: 'a', status: 'succeeded', attempts: 0, finishedAt: 5 });
    assert.deepEqual(base, { id: 'a', status: 'queued', attempts: 0 });
    assert.deepEqual(changes, { status: 'succeeded', finishedAt: 5 });
    assert.notEqual(copy, base);
  });

  test('copies own enumerable fields only, as a spread does', () => {
    class Body {
      handler = 'noop';
      get upper(): string {
        return this.handler.toUpperCase();
      }
    }
    const copy = withChanges(new Body(), { notify: null });
    assert.deepEqual(Object.keys(copy), ['handler', 'notify']);
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
  });
});
