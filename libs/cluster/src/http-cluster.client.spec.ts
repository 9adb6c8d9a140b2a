import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  ClusterRateLimitedError,
  ClusterRejectedError,
  ClusterTransientError,
  HttpClusterClient,
  startSimulator,
  verifyClusterCallback,
  type RunningSimulator,
} from '.';

// Each test sets the behaviour it needs on one shared simulator; reset() between tests forgets jobs and counters.
const QUIET = {
  seed: 7,
  queueMs: 0,
  runMs: 30,
  failRate: 0,
  stuckRate: 0,
  unknownForMs: 0,
  dedupeByClientToken: true,
  rateLimit: null,
  burst429Rate: 0,
  errorRate: 0,
  timeoutRate: 0,
  cancel: true,
  callbacks: null,
} as const;

let sim: RunningSimulator;
let client: HttpClusterClient;

before(async () => {
  sim = await startSimulator(QUIET);
  client = new HttpClusterClient({ baseUrl: sim.url, timeoutMs: 5_000 });
});
after(() => sim.close());
beforeEach(() => {
  sim.configure(QUIET);
  sim.reset();
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail('expected the call to fail');
}

async function waitFor<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 2_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A plain server for what the simulator never does (redirects, huge replies) and for receiving callbacks. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('HttpClusterClient against the simulator', () => {
  test('a submit is accepted and runs to SUCCEEDED', async () => {
    const id = await client.submit({ input: 1 }, 'tok-1');
    assert.match(id, /^[0-9a-f-]{36}$/);
    const done = await waitFor(
      () => client.status(id),
      (r) => r.status === 'SUCCEEDED',
    );
    assert.deepEqual(done, { status: 'SUCCEEDED' });
    assert.equal(sim.stats().jobsCreated, 1);
  });

  test('the same client token returns the same job, and the simulator counts one job', async () => {
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => client.submit({ input: 1 }, 'tok-dup')));
    assert.equal(new Set(ids).size, 1);
    const s = sim.stats();
    assert.deepEqual(
      [s.submissionsReceived, s.distinctClientTokens, s.jobsCreated, s.duplicatesSuppressed],
      [5, 1, 1, 4],
    );
    assert.equal(s.maxJobsPerToken, 1);
  });

  test('with dedupe off, a repeated token starts a second job (and the counters show it)', async () => {
    sim.configure({ dedupeByClientToken: false });
    const [a, b] = [await client.submit({}, 'tok-x'), await client.submit({}, 'tok-x')];
    assert.notEqual(a, b);
    assert.deepEqual([sim.stats().jobsCreated, sim.stats().maxJobsPerToken], [2, 2]);
  });

  test('429 with Retry-After seconds → ClusterRateLimitedError with retryAfterMs', async () => {
    sim.configure({ burst429Rate: 1, retryAfterSec: 7 });
    const error = await rejection(client.submit({}, 'tok-429'));
    assert.ok(error instanceof ClusterRateLimitedError);
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(error.retryable, true);
    assert.deepEqual([sim.stats().sent429, sim.stats().jobsCreated], [1, 0]);
  });

  test('429 with Retry-After as an HTTP date → retryAfterMs from the date', async () => {
    sim.configure({ burst429Rate: 1, retryAfterSec: 5, retryAfterFormat: 'http-date' });
    const error = await rejection(client.status('any'));
    assert.ok(error instanceof ClusterRateLimitedError);
    assert.ok(error.retryAfterMs! >= 4_000 && error.retryAfterMs! <= 6_000, `retryAfterMs ${error.retryAfterMs}`);
  });

  test('5xx → ClusterTransientError, and nothing was created', async () => {
    sim.configure({ errorRate: 1 });
    for (let i = 0; i < 6; i++) {
      const error = await rejection(client.submit({}, `tok-5xx-${i}`));
      assert.ok(error instanceof ClusterTransientError);
      assert.ok(error.httpStatus === 500 || error.httpStatus === 503);
      assert.equal(error.code, `http_${error.httpStatus}`);
      assert.equal(error.retryAfterMs, error.httpStatus === 503 ? 1_000 : undefined);
    }
    assert.deepEqual([sim.stats().sent5xx, sim.stats().jobsCreated], [6, 0]);
  });

  test('a hung call → ClusterTransientError(timeout) within the timeout; a retry with the token finds the job', async () => {
    sim.configure({ timeoutRate: 1, timeoutAppliedRate: 1, hangMs: 5_000 });
    const started = Date.now();
    const impatient = new HttpClusterClient({ baseUrl: sim.url, timeoutMs: 300 });
    const error = await rejection(impatient.submit({}, 'tok-hang'));
    const took = Date.now() - started;
    assert.ok(error instanceof ClusterTransientError);
    assert.equal(error.code, 'timeout');
    assert.ok(took >= 250 && took < 2_000, `took ${took} ms (the hang lasts 5 s)`);
    assert.deepEqual([sim.stats().timeouts, sim.stats().jobsCreated], [1, 1]);
    sim.configure({ timeoutRate: 0 });
    await client.submit({}, 'tok-hang');
    assert.deepEqual([sim.stats().jobsCreated, sim.stats().duplicatesSuppressed], [1, 1]);
  });

  test('a fresh job reads UNKNOWN (404) for a while, then its status', async () => {
    sim.configure({ unknownForMs: 250, runMs: 10_000 });
    const id = await client.submit({}, 'tok-ec');
    assert.deepEqual(await client.status(id), { status: 'UNKNOWN' });
    const later = await waitFor(
      () => client.status(id),
      (r) => r.status !== 'UNKNOWN',
    );
    assert.equal(later.status, 'RUNNING');
    assert.ok(sim.stats().unknownReads >= 1);
  });

  test('a FAILED run carries its error', async () => {
    sim.configure({ failRate: 1, runMs: 0 });
    const id = await client.submit({}, 'tok-fail');
    const report = await waitFor(
      () => client.status(id),
      (r) => r.status === 'FAILED',
    );
    assert.equal(report.status, 'FAILED');
    assert.ok(typeof report.error === 'string' && report.error.length > 0);
  });

  test('stuck jobs stay SUBMITTED or RUNNING', async () => {
    sim.configure({ stuckRate: 1, stuckIn: 'SUBMITTED', runMs: 0 });
    const a = await client.submit({}, 'tok-stuck-a');
    sim.configure({ stuckIn: 'RUNNING' });
    const b = await client.submit({}, 'tok-stuck-b');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(await client.status(a), { status: 'SUBMITTED' });
    assert.deepEqual(await client.status(b), { status: 'RUNNING' });
    assert.deepEqual(sim.stats().jobsByStatus, { SUBMITTED: 1, RUNNING: 1, SUCCEEDED: 0, FAILED: 0 });
  });

  test('cancel: cancelled where supported, unknown for a strange id, unsupported on 405', async () => {
    sim.configure({ runMs: 10_000 });
    const id = await client.submit({}, 'tok-cancel');
    assert.equal(await client.cancel(id), 'cancelled');
    assert.deepEqual(await client.status(id), { status: 'FAILED', error: 'cancelled by client' });
    assert.equal(await client.cancel('no-such-job'), 'unknown');
    sim.configure({ cancel: false });
    assert.equal(await client.cancel(id), 'unsupported');
    assert.deepEqual([sim.stats().cancelsReceived, sim.stats().cancelsApplied], [3, 1]);
  });

  test('a malformed submit is rejected for good (400 → ClusterRejectedError)', async () => {
    const error = await rejection(client.submit({}, 'x'.repeat(300)));
    assert.ok(error instanceof ClusterRejectedError);
    assert.deepEqual([error.httpStatus, error.retryable], [400, false]);
  });
});

describe('completion callbacks', () => {
  test('arrive signed; the signature verifies over the raw body', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const receiver = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          body: Buffer.concat(chunks).toString(),
          signature: req.headers['x-cluster-signature'] as string,
        });
        res.writeHead(204).end();
      });
    });
    try {
      sim.configure({ callbacks: { url: `${receiver.url}/v1/cluster/callbacks`, secret: 's3cret' } });
      const ok = await client.submit({}, 'tok-cb-ok');
      sim.configure({ failRate: 1 });
      const bad = await client.submit({}, 'tok-cb-bad');
      await waitFor(
        () => received.length,
        (n) => n === 2,
      );
      await sim.callbacksIdle();
      const byId = new Map(received.map((r) => [(JSON.parse(r.body) as { jobUuid: string }).jobUuid, r]));
      assert.deepEqual(JSON.parse(byId.get(ok)!.body), { jobUuid: ok, status: 'SUCCEEDED' });
      assert.deepEqual(JSON.parse(byId.get(bad)!.body), { jobUuid: bad, status: 'FAILED' });
      for (const r of received) {
        assert.equal(verifyClusterCallback(r.body, r.signature, 's3cret'), true);
        assert.equal(verifyClusterCallback(r.body, r.signature, 'other'), false);
      }
      assert.equal(sim.stats().callbacksSent, 2);
    } finally {
      receiver.server.close();
    }
  });

  test('a failing receiver gets a few tries, then the callback is dropped', async () => {
    let calls = 0;
    const receiver = await serve((_req, res) => {
      calls++;
      res.writeHead(500).end();
    });
    try {
      sim.configure({ callbacks: { url: receiver.url, secret: 's', attempts: 3, retryDelayMs: 10 } });
      await client.submit({}, 'tok-cb-lost');
      await waitFor(
        () => sim.stats().callbacksDropped,
        (n) => n === 1,
      );
      const s = sim.stats();
      assert.deepEqual([calls, s.callbacksFailed, s.callbacksDropped, s.callbacksSent], [3, 3, 1, 0]);
    } finally {
      receiver.server.close();
    }
  });

  test('off: jobs finish and nothing is sent', async () => {
    const id = await client.submit({}, 'tok-cb-off');
    await waitFor(
      () => client.status(id),
      (r) => r.status === 'SUCCEEDED',
    );
    const s = sim.stats();
    assert.deepEqual([s.callbacksSent, s.callbacksFailed, s.callbacksDropped], [0, 0, 0]);
  });
});

describe('HttpClusterClient at the edges of the contract', () => {
  test('redirects are not followed (ClusterRejectedError) and the target never sees the call', async () => {
    const redirector = await serve((_req, res) => res.writeHead(307, { location: `${sim.url}/jobs` }).end());
    try {
      const error = await rejection(new HttpClusterClient({ baseUrl: redirector.url }).submit({}, 'tok-redirect'));
      assert.ok(error instanceof ClusterRejectedError);
      assert.equal(error.httpStatus, 307);
      assert.equal(sim.stats().submissionsReceived, 0);
    } finally {
      redirector.server.close();
    }
  });

  test('an oversized 2xx reply is cut and counts as transient (the job may exist: retry with the token)', async () => {
    const chatty = await serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jobUuid: 'x'.repeat(100_000) })),
    );
    try {
      const error = await rejection(new HttpClusterClient({ baseUrl: chatty.url, maxBodyBytes: 1024 }).submit({}, 't'));
      assert.ok(error instanceof ClusterTransientError);
      assert.equal(error.code, 'bad_response');
    } finally {
      chatty.server.close();
    }
  });

  test('nobody listening → ClusterTransientError(connection)', async () => {
    const gone = await serve(() => undefined);
    await new Promise((r) => gone.server.close(r));
    const error = await rejection(new HttpClusterClient({ baseUrl: gone.url }).status('x'));
    assert.ok(error instanceof ClusterTransientError);
    assert.equal(error.code, 'connection');
  });
});
