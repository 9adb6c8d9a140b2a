import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ClusterRateLimitedError,
  HttpClusterClient,
  isClusterError,
  parseRetryAfter,
  simulatorSettingsFromEnv,
  startSimulator,
  type SimulatorOptions,
} from '.';

const outcomeOf = (promise: Promise<string>): Promise<string> =>
  promise.then(
    (id) => `ok:${id}`,
    (error: unknown) => (isClusterError(error) ? `${error.name}:${error.code}` : `?:${String(error)}`),
  );

describe('rate limit', () => {
  test('a burst of concurrent submissions never gets more through than the bucket allows', async () => {
    const sim = await startSimulator({ seed: 1, rateLimit: { perSecond: 20, burst: 5 }, runMs: 10 });
    try {
      const client = new HttpClusterClient({ baseUrl: sim.url, timeoutMs: 2_000 });
      const started = performance.now();
      const first = await Promise.all(Array.from({ length: 60 }, (_, i) => outcomeOf(client.submit({}, `t${i}`))));
      const refilled = Math.ceil((20 * (performance.now() - started)) / 1000);
      // The full bucket (5), plus what refilled (20/s) while the burst was being served.
      const accepted = first.filter((o) => o.startsWith('ok:')).length;
      assert.ok(accepted >= 5 && accepted <= 5 + refilled, `accepted ${accepted}, refilled ${refilled}`);
      assert.equal(first.filter((o) => o === 'ClusterRateLimitedError:rate_limited').length, 60 - accepted);
      // Keep hammering for 1.5 s with 10 callers: the bucket admits at most burst + perSecond in any second.
      const until = Date.now() + 1_500;
      let n = 60;
      const caller = async () => {
        while (Date.now() < until) await outcomeOf(client.submit({}, `t${n++}`));
      };
      await Promise.all(Array.from({ length: 10 }, caller));
      const s = sim.stats();
      assert.ok(s.maxAcceptedPerSecond <= 25, `max accepted per second ${s.maxAcceptedPerSecond}`);
      assert.ok(s.maxAcceptedPerSecond >= 15, `the limit should have been approached (${s.maxAcceptedPerSecond})`);
      assert.ok(s.maxSubmissionsPerSecond > 25, `received per second ${s.maxSubmissionsPerSecond}`);
      assert.equal(s.sent429, s.sent429ByRateLimit);
      assert.equal(s.jobsCreated + s.sent429, s.submissionsReceived);
    } finally {
      await sim.close();
    }
  });

  test('the bucket says when to come back', async () => {
    const sim = await startSimulator({ seed: 1, rateLimit: { perSecond: 0.5, burst: 1 } });
    try {
      const client = new HttpClusterClient({ baseUrl: sim.url });
      await client.submit({}, 'a');
      const error = await client.submit({}, 'b').catch((e: unknown) => e);
      assert.ok(error instanceof ClusterRateLimitedError);
      assert.equal(error.retryAfterMs, 2_000);
    } finally {
      await sim.close();
    }
  });

  test('a 429 storm can start and stop mid-run, on submissions only', async () => {
    const sim = await startSimulator({ seed: 3, queueMs: 0, runMs: 10_000 });
    try {
      const client = new HttpClusterClient({ baseUrl: sim.url });
      const id = await client.submit({}, 'before');
      sim.configure({ burst429Rate: 1, faultTargets: ['submit'] });
      assert.match(await outcomeOf(client.submit({}, 'during')), /^ClusterRateLimitedError/);
      assert.equal((await client.status(id)).status, 'RUNNING');
      sim.configure({ burst429Rate: 0 });
      assert.match(await outcomeOf(client.submit({}, 'during')), /^ok:/);
    } finally {
      await sim.close();
    }
  });
});

describe('seeded runs', () => {
  const chaos: SimulatorOptions = {
    queueMs: 0,
    runMs: { min: 0, max: 40 },
    failRate: 0.4,
    stuckRate: 0.2,
    burst429Rate: 0.2,
    errorRate: 0.2,
    timeoutRate: 0.05,
    hangMs: 1_100,
  };

  async function run(seed: number, tokens: string[]): Promise<{ outcomes: string[]; fates: string[] }> {
    const sim = await startSimulator({ ...chaos, seed });
    try {
      // Generous timeouts: only the simulator's hangs may time out, never a slow machine.
      const client = new HttpClusterClient({ baseUrl: sim.url, timeoutMs: 1_000 });
      const outcomes: string[] = [];
      for (const token of tokens) outcomes.push(await outcomeOf(client.submit({ token }, token)));
      await new Promise((r) => setTimeout(r, 80));
      // Read fates without faults so only the jobs' own draws show.
      sim.configure({ burst429Rate: 0, errorRate: 0, timeoutRate: 0 });
      const ids = outcomes.filter((o) => o.startsWith('ok:')).map((o) => o.slice(3));
      const fates = await Promise.all(ids.map(async (id) => `${id}:${JSON.stringify(await client.status(id))}`));
      return { outcomes, fates };
    } finally {
      await sim.close();
    }
  }

  test('the same seed and requests give the same answers and the same job fates', async () => {
    const tokens = Array.from({ length: 30 }, (_, i) => `tok-${i}`);
    const [a, b, c] = await Promise.all([run(42, tokens), run(42, tokens), run(43, tokens)]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.outcomes, c.outcomes);
    const kinds = new Set(a.outcomes.map((o) => o.split(':')[0]));
    assert.ok(kinds.has('ok') && kinds.has('ClusterRateLimitedError') && kinds.has('ClusterTransientError'));
  });

  test("a job's id and fate depend on seed and token, not on arrival order", async () => {
    const tokens = ['a', 'b', 'c', 'd', 'e', 'f'];
    const ids = async (order: string[]) => {
      const sim = await startSimulator({ seed: 9, runMs: 10_000 });
      const client = new HttpClusterClient({ baseUrl: sim.url });
      const map = new Map<string, string>();
      for (const t of order) map.set(t, await client.submit({}, t));
      await sim.close();
      return tokens.map((t) => map.get(t));
    };
    assert.deepEqual(await ids(tokens), await ids([...tokens].reverse()));
  });

  test('an unseeded simulator reports the seed it drew, to replay the run', async () => {
    const sim = await startSimulator();
    try {
      assert.equal(typeof sim.stats().seed, 'number');
      assert.equal(sim.config().seed, sim.stats().seed);
    } finally {
      await sim.close();
    }
  });
});

describe('control over HTTP and configuration', () => {
  test('GET /stats, POST /config and POST /reset', async () => {
    const sim = await startSimulator({ seed: 5, runMs: 10_000 });
    try {
      await new HttpClusterClient({ baseUrl: sim.url }).submit({}, 'one');
      const stats = (await (await fetch(`${sim.url}/stats`)).json()) as { jobsCreated: number };
      assert.equal(stats.jobsCreated, 1);
      const set = await fetch(`${sim.url}/config`, { method: 'POST', body: JSON.stringify({ failRate: 0.25 }) });
      assert.equal(((await set.json()) as { failRate: number }).failRate, 0.25);
      const bad = await fetch(`${sim.url}/config`, { method: 'POST', body: JSON.stringify({ failRate: 2 }) });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /failRate/);
      assert.equal((await fetch(`${sim.url}/reset`, { method: 'POST' })).status, 204);
      assert.equal(sim.stats().jobsCreated, 0);
      assert.equal(sim.config().failRate, 0.25);
    } finally {
      await sim.close();
    }
  });

  test('env settings: values, ranges, and one line naming a bad variable', () => {
    const { options, listen } = simulatorSettingsFromEnv({
      PORT: '4100',
      SIM_SEED: 'abc',
      SIM_RUN_MS: '100-500',
      SIM_QUEUE_MS: '20',
      SIM_FAIL_RATE: '0.1',
      SIM_RATE_LIMIT: '50',
      SIM_DEDUPE: 'false',
      SIM_FAULT_TARGETS: 'submit, status',
      SIM_CALLBACK_URL: 'http://127.0.0.1:3000/v1/cluster/callbacks',
      SIM_CALLBACK_SECRET: 'k',
    });
    assert.deepEqual(listen, { port: 4100, host: '127.0.0.1' });
    assert.deepEqual(options.runMs, { min: 100, max: 500 });
    assert.equal(options.queueMs, 20);
    assert.deepEqual(options.rateLimit, { perSecond: 50, burst: undefined });
    assert.equal(options.dedupeByClientToken, false);
    assert.deepEqual(options.faultTargets, ['submit', 'status']);
    assert.equal(options.callbacks?.secret, 'k');
    assert.throws(() => simulatorSettingsFromEnv({ SIM_FAIL_RATE: 'lots' }), /SIM_FAIL_RATE/);
    assert.throws(() => simulatorSettingsFromEnv({ SIM_CALLBACK_URL: 'http://x' }), /SIM_CALLBACK_SECRET/);
  });

  test('Retry-After parsing: seconds, dates, nonsense', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3_000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('-1', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  test('npm run cluster:sim starts the server from env, answers, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [join(__dirname, 'simulator', 'main.js')], {
      env: { ...process.env, PORT: '0', SIM_SEED: '11', SIM_RUN_MS: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const { url } = JSON.parse(line.toString().split('\n')[0]) as { url: string };
      const id = await new HttpClusterClient({ baseUrl: url }).submit({}, 'cli');
      const stats = (await (await fetch(`${url}/stats`)).json()) as { jobsCreated: number; seed: string };
      assert.deepEqual([stats.jobsCreated, stats.seed, typeof id], [1, '11', 'string']);
    } finally {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    }
  });
});
