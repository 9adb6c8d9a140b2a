import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@baton/core';
import { validBody } from '../common/validation.pipe';
import { CreateTaskDto, quickTaskBody } from './tasks.dto';

/** The full check's answer: the DTO, or undefined where it refuses the body. */
function fullCheck(body: unknown): CreateTaskDto | undefined {
  try {
    return validBody(CreateTaskDto, body);
  } catch {
    return undefined;
  }
}

const pick = <T>(next: () => number, from: readonly T[]): T => from[Math.floor(next() * from.length)];

const VALUES: readonly unknown[] = [
  undefined,
  null,
  0,
  1,
  -1,
  5,
  10,
  11,
  20,
  21,
  1.5,
  Number.MAX_SAFE_INTEGER,
  604_800_000,
  604_800_001,
  31_622_400_000,
  31_622_400_001,
  '',
  'noop',
  '5',
  'x'.repeat(64),
  'x'.repeat(65),
  '😀'.repeat(32),
  '😀'.repeat(33),
  '\ud800',
  true,
  [],
  [1],
  {},
  { ms: 5 },
  '2026-11-23T10:00:00Z',
];
const KEYS = [
  'handler',
  'payload',
  'priority',
  'delayMs',
  'maxAttempts',
  'timeoutMs',
  'runAt',
  'deadlineAt',
  'dedupeKey',
  'notify',
  'unknown',
  'constructor',
  'toString',
];

test('every body the quick check accepts, class-validator accepts as the same DTO; it accepts the common ones', () => {
  const next = mulberry32(20261123); // seeded: a failure names a body that reproduces
  let quick = 0;
  let full = 0;
  for (let i = 0; i < 20_000; i++) {
    const body: Record<string, unknown> = {};
    if (next() < 0.9) body.handler = pick(next, ['noop', 'sleep', 'http', 'x'.repeat(64), ...VALUES]);
    const extra = Math.floor(next() * 4);
    for (let k = 0; k < extra; k++) body[pick(next, KEYS)] = pick(next, VALUES);
    const expected = fullCheck(body);
    const got = quickTaskBody(body);
    if (expected) full++;
    if (got) {
      quick++;
      assert.ok(expected, `quick accepted what class-validator refuses (body ${i}): ${JSON.stringify(body)}`);
      assert.ok(got instanceof CreateTaskDto);
      assert.deepEqual({ ...got }, { ...expected }, `body ${i}`);
    }
  }
  // The generator must reach both sides, or the comparison shows nothing.
  assert.ok(quick > 1_000, `quick accepted ${quick}`);
  assert.ok(full > quick, `full accepted ${full}, quick ${quick}`);
});

test('the bodies clients send most take the quick path; anything unusual goes the full way', () => {
  for (const body of [
    { handler: 'noop' },
    { handler: 'noop', payload: { n: 1 } },
    { handler: 'sleep', payload: { ms: 5 }, priority: 1, maxAttempts: 20, timeoutMs: 1000, delayMs: 0 },
    { handler: 'noop', payload: null },
  ]) {
    assert.ok(quickTaskBody(body), JSON.stringify(body));
  }
  for (const body of [
    null,
    [],
    'noop',
    {},
    { handler: '' },
    { handler: 'noop', priority: 0 },
    { handler: 'noop', priority: null },
    { handler: 'noop', priority: '5' },
    { handler: 'noop', delayMs: 1.5 },
    { handler: 'noop', dedupeKey: 'a' },
    { handler: 'noop', runAt: '2026-11-23T10:00:00Z' },
    { handler: 'noop', notify: {} },
    { handler: 'noop', extra: 1 },
  ]) {
    assert.equal(quickTaskBody(body), undefined, JSON.stringify(body));
  }
});
