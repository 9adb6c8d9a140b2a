import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatonError } from '@baton/core';
import {
  batchStatus,
  decideStep,
  DEFAULT_BATCH_POLICY,
  initialCounts,
  MAX_BATCH_ITEMS,
  MIN_POLL_MS,
  prepareItems,
  reopenCounts,
  resolvePolicy,
  runClientToken,
  shiftCounts,
  type BatchPolicy,
  type RunState,
} from '.';

function fields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BatonError && error.code === 'validation_failed');
    return (error.details ?? []).map((d) => d.field);
  }
  return assert.fail('expected validation_failed');
}

describe('batch policy', () => {
  test('defaults fill what is not given', () => {
    assert.deepEqual(resolvePolicy(undefined), DEFAULT_BATCH_POLICY);
    const p = resolvePolicy({ maxAttempts: 5, backoff: { baseMs: 200 }, stuckAfterMs: { running: 60_000 } });
    assert.equal(p.maxAttempts, 5);
    assert.deepEqual(p.backoff, { baseMs: 200, maxMs: 60_000, jitter: 'full' });
    assert.deepEqual(p.stuckAfterMs, { submitted: 3_600_000, running: 60_000 });
    assert.equal(
      resolvePolicy({ stuckAfterMs: { submitted: null } }).stuckAfterMs.submitted,
      null,
      'null switches a bound off',
    );
  });
  test('out-of-range values name their field', () => {
    assert.deepEqual(
      fields(() =>
        resolvePolicy({
          maxAttempts: 21,
          backoff: { baseMs: 0, jitter: 'some' },
          jobTimeoutMs: 5,
          stuckAfterMs: { running: 1.5 },
        }),
      ),
      [
        'policy.maxAttempts',
        'policy.backoff.baseMs',
        'policy.jobTimeoutMs',
        'policy.stuckAfterMs.running',
        'policy.backoff.jitter',
      ],
    );
    assert.deepEqual(
      fields(() => resolvePolicy({ backoff: { baseMs: 5000, maxMs: 1000 } })),
      ['policy.backoff.baseMs'],
    );
  });
});

describe('batch items', () => {
  test('every item must be an object; 1 to 100,000 of them', () => {
    assert.deepEqual(
      fields(() => prepareItems([], false)),
      ['items'],
    );
    assert.deepEqual(
      fields(() => prepareItems('x', false)),
      ['items'],
    );
    assert.deepEqual(
      fields(() => prepareItems(new Array(MAX_BATCH_ITEMS + 1).fill({}), false)),
      ['items'],
    );
    assert.deepEqual(
      fields(() => prepareItems([{}, 1, [2], null, { ok: 1 }], false)),
      ['items[1]', 'items[2]', 'items[3]'],
    );
    assert.equal(fields(() => prepareItems(new Array(1000).fill(7), false)).length, 20, 'errors are capped');
  });
  test('dedupe keeps the first of equal params, whatever their key order, with its index', () => {
    const items = [{ a: 1, b: 2 }, { b: 2, a: 1 }, { a: 2 }, { a: 1, b: 2 }, { a: 2, c: null }];
    const deduped = prepareItems(items, true);
    assert.deepEqual(
      deduped.items.map((i) => i.index),
      [0, 2, 4],
    );
    assert.equal(deduped.dropped, 2);
    assert.equal(prepareItems(items, false).items.length, 5);
    assert.equal(
      deduped.items[0].paramsHash,
      prepareItems(
        [
          { b: 2, a: 1 },
          { a: 1, b: 2 },
        ],
        true,
      ).items[0].paramsHash,
    );
  });
  test('the largest batch: 100,000 items, half of them repeats, keep the first of each', () => {
    // Speed is measured in bench/batches.bench.ts (the 202 of a 100,000-item request), not here.
    const items = Array.from({ length: MAX_BATCH_ITEMS }, (_, i) => ({ input: `s3://bucket/${i % 50_000}` }));
    const { items: kept, dropped } = prepareItems(items, true);
    assert.equal(kept.length, 50_000);
    assert.equal(dropped, 50_000);
    assert.deepEqual(
      kept.slice(-2).map((k) => k.index),
      [49_998, 49_999],
    );
  });
});

describe('run steps', () => {
  const policy: BatchPolicy = resolvePolicy({
    maxAttempts: 2,
    backoff: { baseMs: 100, maxMs: 1000, jitter: 'none' },
    jobTimeoutMs: 60_000,
    stuckAfterMs: { submitted: 10_000, running: 30_000 },
  });
  const t0 = new Date('2026-05-01T00:00:00Z');
  const at = (ms: number) => new Date(t0.getTime() + ms);
  const run = (over: Partial<RunState> = {}): RunState => ({
    attempt: 1,
    submittedAt: t0,
    runningSince: null,
    polls: 0,
    ...over,
  });

  test('SUCCEEDED ends the item', () => {
    assert.deepEqual(decideStep(run(), { status: 'SUCCEEDED' }, policy, at(5)), { kind: 'succeeded' });
  });
  test('FAILED runs again while attempts remain, then fails for good', () => {
    const first = decideStep(run(), { status: 'FAILED', error: 'OOM' }, policy, at(5));
    assert.deepEqual(first, {
      kind: 'resubmit',
      delayMs: 100,
      failure: { code: 'cluster_failed', message: 'OOM', cancelOnCluster: false },
    });
    const last = decideStep(run({ attempt: 2 }), { status: 'FAILED' }, policy, at(5));
    assert.equal(last.kind, 'failed');
  });
  test('polls back off exponentially, capped, and never past the next deadline', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((polls) => {
      const s = decideStep(run({ polls }), { status: 'SUBMITTED' }, policy, at(1));
      return s.kind === 'poll' ? s.delayMs : -1;
    });
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    const nearStuck = decideStep(run({ polls: 9 }), { status: 'UNKNOWN' }, policy, at(9_800));
    assert.deepEqual(nearStuck, { kind: 'poll', delayMs: 200, runningSince: null });
    const jittered = decideStep(
      run({ polls: 3 }),
      { status: 'RUNNING' },
      { ...policy, backoff: { ...policy.backoff, jitter: 'full' } },
      at(1),
      () => 0,
    );
    assert.equal(jittered.kind === 'poll' && jittered.delayMs, MIN_POLL_MS, 'full jitter never polls in a tight loop');
  });
  test('RUNNING is remembered from the first time it is seen', () => {
    const s = decideStep(run(), { status: 'RUNNING' }, policy, at(2000));
    assert.equal(s.kind === 'poll' && s.runningSince?.getTime(), at(2000).getTime());
    const later = decideStep(run({ runningSince: at(2000) }), { status: 'RUNNING' }, policy, at(3000));
    assert.equal(later.kind === 'poll' && later.runningSince?.getTime(), at(2000).getTime());
  });
  test('stuck in SUBMITTED or unknown, stuck RUNNING, and timed out runs are cancelled and re-run or failed', () => {
    const stuck = decideStep(run(), { status: 'UNKNOWN' }, policy, at(10_000));
    assert.equal(stuck.kind, 'resubmit');
    assert.deepEqual(stuck.kind === 'resubmit' && [stuck.failure.code, stuck.failure.cancelOnCluster], [
      'stuck_submitted',
      true,
    ]);
    const stuckRunning = decideStep(
      run({ attempt: 2, runningSince: at(1000) }),
      { status: 'RUNNING' },
      policy,
      at(31_000),
    );
    assert.deepEqual(stuckRunning.kind === 'failed' && stuckRunning.failure.code, 'stuck_running');
    const timeout = decideStep(run({ runningSince: at(50_000) }), { status: 'RUNNING' }, policy, at(60_000));
    assert.deepEqual(timeout.kind === 'resubmit' && timeout.failure.code, 'timeout');
    const unbounded = resolvePolicy({ stuckAfterMs: { submitted: null, running: null } });
    assert.equal(decideStep(run(), { status: 'SUBMITTED' }, unbounded, at(86_400_000)).kind, 'poll');
  });
  test('client tokens are stable per run and differ between runs', () => {
    assert.equal(runClientToken('job_x', 0, 1), runClientToken('job_x', 0, 1));
    assert.notEqual(runClientToken('job_x', 0, 1), runClientToken('job_x', 0, 2));
    assert.notEqual(runClientToken('job_x', 0, 1), runClientToken('job_x', 1, 1));
  });
});

describe('roll-up', () => {
  test('counts always add up and the status follows API.md', () => {
    let c = initialCounts(3);
    assert.deepEqual(batchStatus(c, false), { status: 'queued', outcome: null, terminal: false });
    c = shiftCounts(c, 'queued', 'running');
    c = shiftCounts(c, 'running', 'succeeded');
    assert.equal(batchStatus(c, false).status, 'running');
    c = shiftCounts(shiftCounts(c, 'queued', 'running'), 'running', 'failed');
    c = shiftCounts(shiftCounts(c, 'queued', 'running'), 'running', 'succeeded');
    assert.deepEqual(batchStatus(c, false), { status: 'failed', outcome: 'partial', terminal: true });
    assert.throws(() => shiftCounts(c, 'succeeded', 'running'), /cannot move/);
    assert.throws(() => shiftCounts(c, 'queued', 'running'), /no item is queued/);
  });
  test('a cancelled batch ends cancelled once nothing is in flight; retry-failed reopens only failed items', () => {
    let c = shiftCounts(initialCounts(2), 'queued', 'running');
    c = shiftCounts(c, 'queued', 'cancelled');
    assert.equal(batchStatus(c, true).terminal, false, 'a running item is still in flight');
    c = shiftCounts(c, 'running', 'failed');
    assert.deepEqual(batchStatus(c, true), { status: 'cancelled', outcome: 'cancelled', terminal: true });
    const reopened = reopenCounts({ total: 3, queued: 0, running: 0, succeeded: 1, failed: 2, cancelled: 0 });
    assert.deepEqual(reopened, { total: 3, queued: 2, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
    assert.equal(batchStatus(reopened, false).status, 'running');
  });
});
