import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BatonError } from '@baton/core';
import { PermanentJobError } from '@baton/queue';
import {
  builtInHandlers,
  delayUntilRun,
  describeFailure,
  isFinalFailure,
  planTask,
  TransientTaskError,
  type TaskContext,
} from '.';

const handlers = builtInHandlers({ maxTimeoutMs: 5_000, allowPrivateNetworks: true });
const now = new Date('2026-03-01T12:00:00Z');
const ctx = { id: 'tsk_x', tenantId: 'ten_x', requestId: null, now, defaults: { maxAttempts: 3 }, handlers };

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BatonError);
    assert.equal(error.code, 'validation_failed');
    return (error.details ?? []).map((d) => d.field);
  }
  assert.fail('expected validation_failed');
}

describe('planTask', () => {
  test('applies defaults', () => {
    const t = planTask({ handler: 'noop' }, ctx);
    assert.equal(t.maxAttempts, 3);
    assert.equal(t.priority, 5);
    assert.equal(t.runAt, null);
  });
  test('delayMs becomes runAt', () => {
    const t = planTask({ handler: 'noop', delayMs: 5000 }, ctx);
    assert.equal(t.runAt?.toISOString(), '2026-03-01T12:00:05.000Z');
    assert.equal(delayUntilRun(t, now), 5000);
  });
  test('names every bad field', () => {
    assert.deepEqual(
      fieldsOf(() => planTask({ handler: 'nope' }, ctx)),
      ['handler'],
    );
    assert.deepEqual(
      fieldsOf(() => planTask({ handler: 'sleep', payload: { ms: -1, steps: 0 } }, ctx)),
      ['payload.ms', 'payload.steps'],
    );
    assert.deepEqual(
      fieldsOf(() => planTask({ handler: 'http', payload: { url: 'ftp://x', timeoutMs: 10_000 } }, ctx)),
      ['payload.url', 'payload.timeoutMs'],
    );
    assert.deepEqual(
      fieldsOf(() => planTask({ handler: 'noop', runAt: now.toISOString(), delayMs: 1 }, ctx)),
      ['runAt'],
    );
    assert.deepEqual(
      fieldsOf(() => planTask({ handler: 'noop', deadlineAt: '2026-03-01T11:00:00Z' }, ctx)),
      ['deadlineAt'],
    );
  });
});

describe('failure classification', () => {
  test('permanent errors end the task at once; others only when attempts run out', () => {
    assert.equal(isFinalFailure(new PermanentJobError('bad'), 1, 5), true);
    assert.equal(isFinalFailure(new TransientTaskError('5xx'), 1, 5), false);
    assert.equal(isFinalFailure(new Error('boom'), 5, 5), true);
    assert.deepEqual(describeFailure(new TransientTaskError('503', 'http_503'), 2), {
      code: 'http_503',
      message: '503',
      retryable: true,
      attempt: 2,
    });
    assert.equal(describeFailure(new PermanentJobError('no', 'http_404'), 1).retryable, false);
  });
});

function context(signal = new AbortController().signal): TaskContext & { progressSeen: number[]; logsSeen: string[] } {
  const progressSeen: number[] = [];
  const logsSeen: string[] = [];
  return {
    taskId: 'tsk_x',
    tenantId: 'ten_x',
    attempt: 1,
    signal,
    progressSeen,
    logsSeen,
    progress: (p) => Promise.resolve(void progressSeen.push(p)),
    log: (m) => Promise.resolve(void logsSeen.push(m)),
  };
}

describe('sleep handler', () => {
  test('reports progress up to 100', async () => {
    const c = context();
    await handlers.get('sleep')!.run({ ms: 40, steps: 4 }, c);
    assert.deepEqual(c.progressSeen, [25, 50, 75, 100]);
  });
  test('stops when aborted', async () => {
    const ac = new AbortController();
    const run = handlers.get('sleep')!.run({ ms: 10_000, steps: 2 }, context(ac.signal));
    ac.abort(new Error('cancelled'));
    await assert.rejects(run, /cancelled/);
  });
});

describe('http handler against a real server', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 200);
      if (req.url!.startsWith('/slow')) return void setTimeout(() => res.end('late'), 2000);
      if (req.url!.startsWith('/redirect')) return void res.writeHead(302, { location: '/elsewhere' }).end();
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, status }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());
  const http = () => handlers.get('http')!;

  test('2xx succeeds with the parsed body', async () => {
    assert.deepEqual(await http().run({ url: `${base}/ok`, method: 'POST', body: { a: 1 } }, context()), {
      status: 200,
      body: { method: 'POST', status: 200 },
    });
  });
  test('5xx and 429 are transient; other 4xx and redirects are permanent', async () => {
    await assert.rejects(http().run({ url: `${base}/x?status=503` }, context()), TransientTaskError);
    await assert.rejects(http().run({ url: `${base}/x?status=429` }, context()), TransientTaskError);
    await assert.rejects(http().run({ url: `${base}/x?status=404` }, context()), PermanentJobError);
    await assert.rejects(http().run({ url: `${base}/redirect` }, context()), PermanentJobError);
  });
  test('a timeout is transient', async () => {
    await assert.rejects(
      http().run({ url: `${base}/slow`, timeoutMs: 100 }, context()),
      (e: TransientTaskError) => e.code === 'timeout',
    );
  });
  test('private addresses are refused unless allowed', async () => {
    const strict = builtInHandlers({ maxTimeoutMs: 5_000, allowPrivateNetworks: false }).get('http')!;
    await assert.rejects(
      strict.run({ url: `${base}/ok` }, context()),
      (e: PermanentJobError) => e.code === 'private_address',
    );
  });
  test('connection refused is transient', async () => {
    await assert.rejects(
      http().run({ url: 'http://127.0.0.1:1/' }, context()),
      (e: TransientTaskError) => e.code === 'connection',
    );
  });
});
