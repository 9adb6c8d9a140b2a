// /metrics in every app: the worker and the GPU worker run as processes of their own (start:worker,
// start:gpu-worker) beside an API, do real work, and their own endpoints show it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startSimulator, type RunningSimulator } from '@baton/cluster';
import { appEnv, freePort, startBaton, waitFor, type Harness } from './support/harness';
import { image } from './support/inference';
import { startReceiver } from './support/receiver';

interface App {
  out: () => string;
  stop(): Promise<number | null>;
}

/** Starts one app's main.js against the harness's database and queue prefix. */
function spawnApp(main: string, h: Harness, env: Record<string, string>): App {
  const child = spawn(process.execPath, [main], {
    env: appEnv(h, { HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    out: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A sample's value from Prometheus text, by name and a subset of its labels; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

const scrape = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

let h: Harness;
let sim: RunningSimulator;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let worker: App;
let gpu: App;
let workerPort: number;
let gpuPort: number;
let key: string;

before(async () => {
  // Every third call or so answers 429, so the cluster call counter shows rate limiting too.
  sim = await startSimulator({
    seed: 11,
    queueMs: 10,
    runMs: 20,
    burst429Rate: 0.3,
    retryAfterSec: 0,
    failRate: 0,
    errorRate: 0,
  });
  receiver = await startReceiver();
  h = await startBaton({ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }, { worker: false });
  key = (await h.tenant('member')).key;
  [workerPort, gpuPort] = [await freePort(), await freePort()];
  worker = spawnApp('dist/apps/worker/src/main.js', h, {
    METRICS_PORT: String(workerPort),
    CLUSTER_URL: sim.url,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
    SCHEDULE_SWEEP_INTERVAL_MS: '200',
  });
  gpu = spawnApp('dist/apps/gpu-worker/src/main.js', h, { GPU_METRICS_PORT: String(gpuPort) });
  for (const [app, port] of [
    [worker, workerPort],
    [gpu, gpuPort],
  ] as const) {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
      90_000,
      `/healthz on ${port}; output so far: ${app.out().slice(-2000)}`,
    );
  }
});

after(async () => {
  const codes = await Promise.all([worker?.stop(), gpu?.stop()]);
  await h?.close();
  await sim?.close();
  await receiver?.close();
  assert.deepEqual(codes, [0, 0], 'both stop cleanly on SIGTERM');
});

describe('/metrics of a worker process', () => {
  test('a task, a webhook delivery, a schedule fire and a batch each show in the series', async () => {
    const task = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'noop', notify: { webhook: { url: `${receiver.url}/done` } } },
    });
    assert.equal(task.status, 202, JSON.stringify(task.body));
    const schedule = await h.request('POST', '/v1/schedules', {
      key,
      body: { name: 'metrics', everyMs: 1000, target: { type: 'task', handler: 'noop' } },
    });
    assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
    const batch = await h.request('POST', '/v1/batches', {
      key,
      body: { items: Array.from({ length: 12 }, (_, i) => ({ i })), policy: { backoff: { baseMs: 50, maxMs: 200 } } },
    });
    assert.equal(batch.status, 202, JSON.stringify(batch.body));

    const text = await waitFor(
      async () => {
        const t = await scrape(workerPort);
        const ready =
          (sample(t, 'baton_notification_deliveries_total', { channel: 'webhook', outcome: 'delivered' }) ?? 0) >= 1 &&
          (sample(t, 'baton_schedule_lag_seconds_count', { target: 'task' }) ?? 0) >= 1 &&
          (sample(t, 'baton_batch_items_total', { status: 'succeeded' }) ?? 0) >= 12;
        return ready && t;
      },
      60_000,
      'the work to show in the worker metrics',
    );
    assert.ok(
      receiver.hits.some((hit) => hit.path === '/done'),
      'the webhook really arrived',
    );
    assert.ok((sample(text, 'baton_notification_delivery_seconds_count', { channel: 'webhook' }) ?? 0) >= 1);
    assert.ok((sample(text, 'baton_job_enqueue_to_start_seconds_count', { queue: 'tasks' }) ?? 0) >= 1);
    assert.ok((sample(text, 'baton_job_run_seconds_count', { queue: 'tasks', outcome: 'succeeded' }) ?? 0) >= 1);
    assert.ok((sample(text, 'baton_cluster_calls_total', { call: 'submit', result: 'ok' }) ?? 0) >= 12);
    assert.ok((sample(text, 'baton_cluster_calls_total', { call: 'status', result: 'ok' }) ?? 0) >= 12);
    const limited =
      (sample(text, 'baton_cluster_calls_total', { call: 'submit', result: 'rate_limited' }) ?? 0) +
      (sample(text, 'baton_cluster_calls_total', { call: 'status', result: 'rate_limited' }) ?? 0);
    assert.ok(limited >= 1, 'the simulator’s 429s are counted as rate_limited');
    assert.ok((sample(text, 'baton_cluster_call_seconds_count', { call: 'submit' }) ?? 0) >= 12);
    // Queue gauges are read from Redis at scrape time, for the queues this process consumes.
    assert.notEqual(sample(text, 'baton_queue_jobs', { queue: 'tasks', state: 'waiting' }), undefined);
    assert.notEqual(sample(text, 'baton_queue_oldest_waiting_seconds', { queue: 'cluster' }), undefined);
    assert.equal(sample(text, 'baton_queue_jobs', { queue: 'inference' }), undefined, 'not a queue it consumes');
    assert.notEqual(sample(text, 'baton_process_resident_memory_bytes'), undefined);
    assert.equal((await fetch(`http://127.0.0.1:${workerPort}/nope`)).status, 404);
  });
});

describe('/metrics of a GPU worker process', () => {
  test('an inference job shows its batch sizes, latency, items and the inference queue', async () => {
    const r = await h.request('POST', '/v1/inference/jobs', {
      key,
      body: { model: 'text-direction', inputs: [image(1), image(2), image(3)] },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const text = await waitFor(
      async () => {
        const t = await scrape(gpuPort);
        return (
          (sample(t, 'baton_inference_items_total', { model: 'text-direction', status: 'succeeded' }) ?? 0) >= 3 && t
        );
      },
      120_000,
      'the inference items to show in the GPU worker metrics',
    );
    assert.equal(sample(text, 'baton_inference_batch_size_sum', { model: 'text-direction' }), 3);
    assert.ok((sample(text, 'baton_inference_batch_seconds_count', { model: 'text-direction' }) ?? 0) >= 1);
    assert.ok((sample(text, 'baton_inference_queue_wait_seconds_count', { model: 'text-direction' }) ?? 0) >= 1);
    assert.notEqual(sample(text, 'baton_queue_jobs', { queue: 'inference', state: 'waiting' }), undefined);
    assert.equal(sample(text, 'baton_queue_jobs', { queue: 'tasks' }), undefined, 'not a queue it consumes');
  });
});
