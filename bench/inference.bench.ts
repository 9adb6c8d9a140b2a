// `npm run bench:inference`: the real text-direction model through the whole service at maxBatchSize 1, 8, 16 and 32,
// against the raw onnxruntime session on the same inputs, in the same run.
//
// Both sides get the same burst: BENCH_N PNG images (distinct, 120x30; default 6144) available at t0.
//   raw:     in this process, batches of B items one after another: decode + resize + normalise, one session.run,
//            post-process (exactly the code the worker runs, minus the service), on a session with ONNX Runtime's
//            default threads (one per core). An item's latency is when its batch ended minus t0. The raw session's
//            speed drifts with the machine (606 then 850 items/s back to back here, at batch size 32), so it runs just
//            before and just after the service at each B, and the service is compared with the mean of the two; both
//            are printed.
//   service: the API and the GPU worker booted in this process on the real Redis and a fresh Postgres database
//            (INFERENCE_MAX_BATCH_SIZE = B), jobs of BENCH_JOB_SIZE items submitted over HTTP at once; an item's
//            latency is its finished_at minus t0 (from Postgres, so polling costs nothing during the run).
// Prints items/s, p50/p99 end-to-end latency and the ratios: service / raw at the same B (target >= 0.7) and service
// at B / service at 1 (micro-batching, target >= 1.5 at some B). The machine's load average is printed with it.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { startGpuWorker } from '@baton/gpu-worker-app';
import {
  ModelRegistry,
  OnnxSessions,
  pngBase64,
  postprocess,
  prepareItem,
  splitBatch,
  stackBatch,
} from '@baton/inference';
import { createLogger } from '@baton/observability';
import { startBaton } from '../test/support/harness';
import { intFromEnv, pollUntil, round, stopwatch, summarize, table, type Summary } from './support';

/**
 * 6,144 images, about 9 s at batch size 32 here: throughput in a steady state. In a shorter burst the service's
 * start-up weighs in (every submission's HTTP request, validation and inserts come first, on the same main thread):
 * at 2,048 images the cells at batch sizes 16 and 32 came out 0.69–0.81 of raw, at 6,144 0.70–1.03.
 */
const N = intFromEnv('BENCH_N', 6144);
const JOB_SIZE = intFromEnv('BENCH_JOB_SIZE', 16);
const SIZES = (process.env.BENCH_BATCH_SIZES ?? '1,8,16,32').split(',').map(Number);
const MODEL = 'text-direction';
const MODELS_FILE = resolve('models.json');

interface Result {
  itemsPerSecond: number;
  latencyMs: Summary;
}

const inputs = Array.from({ length: N }, (_, i) => ({ image: pngBase64(120, 30, i) }));

async function raw(sessions: OnnxSessions, batchSize: number): Promise<Result> {
  const spec = new ModelRegistry(MODELS_FILE).version(MODEL, '1')!;
  const elapsed = stopwatch();
  const latencies: number[] = [];
  for (let start = 0; start < N; start += batchSize) {
    const items = inputs.slice(start, start + batchSize).map((input) => prepareItem(spec, MODEL, input));
    const out = await sessions.run(spec.file, stackBatch(items));
    splitBatch(out).forEach((part) => postprocess(spec.output, part));
    const at = elapsed();
    for (let i = 0; i < items.length; i++) latencies.push(at);
  }
  return { itemsPerSecond: (N / elapsed()) * 1000, latencyMs: summarize(latencies) };
}

/** The raw session's figures around a service run: items/s and latencies averaged. */
function bracket(a: Result, b: Result): Result {
  const mean = (x: number, y: number) => (x + y) / 2;
  return {
    itemsPerSecond: mean(a.itemsPerSecond, b.itemsPerSecond),
    latencyMs: {
      p50: mean(a.latencyMs.p50, b.latencyMs.p50),
      p99: mean(a.latencyMs.p99, b.latencyMs.p99),
      max: Math.max(a.latencyMs.max, b.latencyMs.max),
      count: a.latencyMs.count,
    },
  };
}

async function service(batchSize: number): Promise<Result> {
  const h = await startBaton(
    {
      INFERENCE_MAX_BATCH_SIZE: String(batchSize),
      INFERENCE_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? String(Math.max(64, batchSize * 4)),
      ...(process.env.INFERENCE_THREADS ? { INFERENCE_THREADS: process.env.INFERENCE_THREADS } : {}),
      ...(process.env.INFERENCE_SESSIONS ? { INFERENCE_SESSIONS: process.env.INFERENCE_SESSIONS } : {}),
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      LOG_LEVEL: 'silent',
    },
    { worker: false },
  );
  const gpu = await startGpuWorker(h.runtime);
  try {
    const { key } = await h.tenant('member');
    // Warm-up outside the clock: the first request pays for lazy paths in the API.
    const warm = await h.request('POST', '/v1/inference/jobs', { key, body: { model: MODEL, input: inputs[0] } });
    await pollUntil(async () => (await h.runtime.stores.inference.find(warm.body.id, null))?.finishedAt != null, {
      everyMs: 50,
      stalledMs: 30_000,
      progress: () => 0,
      what: 'warm-up',
    });
    const t0 = Date.now();
    const jobs: string[] = [];
    await Promise.all(
      Array.from({ length: Math.ceil(N / JOB_SIZE) }, async (_, j) => {
        const r = await h.request('POST', '/v1/inference/jobs', {
          key,
          body: { model: MODEL, inputs: inputs.slice(j * JOB_SIZE, (j + 1) * JOB_SIZE) },
        });
        if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
        jobs.push(r.body.id);
      }),
    );
    let finished = 0;
    await pollUntil(
      async () => {
        const rows = await h.runtime.prisma.inferenceItem.count({
          where: { jobId: { in: jobs }, status: { in: ['succeeded', 'failed'] } },
        });
        finished = rows;
        return rows === N;
      },
      { everyMs: 200, stalledMs: 60_000, progress: () => finished, what: 'every item' },
    );
    const rows = await h.runtime.prisma.inferenceItem.findMany({
      where: { jobId: { in: jobs } },
      select: { finishedAt: true, status: true },
    });
    if (rows.some((r) => r.status !== 'succeeded')) throw new Error('an item failed');
    const latencies = rows.map((r) => r.finishedAt!.getTime() - t0);
    const last = Math.max(...latencies);
    return { itemsPerSecond: (N / last) * 1000, latencyMs: summarize(latencies) };
  } finally {
    await gpu.close();
    await h.close();
  }
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map(round);
  const sessions = await OnnxSessions.open(false, createLogger({ level: 'silent', name: 'bench' }));
  const spec = new ModelRegistry(MODELS_FILE).version(MODEL, '1')!;
  await sessions.run(spec.file, stackBatch([prepareItem(spec, MODEL, inputs[0])])); // warm
  const rows: (string | number)[][] = [];
  const results: Record<number, { raw: Result; rawRuns: [number, number]; service: Result }> = {};
  for (const b of SIZES) {
    const before = await raw(sessions, b);
    const s = await service(b);
    const after = await raw(sessions, b);
    const r = bracket(before, after);
    results[b] = { raw: r, rawRuns: [before.itemsPerSecond, after.itemsPerSecond], service: s };
    process.stderr.write(
      `maxBatchSize ${b}: raw ${round(before.itemsPerSecond)}/s before, ${round(after.itemsPerSecond)}/s after; ` +
        `service ${round(s.itemsPerSecond)}/s\n`,
    );
  }
  await sessions.close();
  const base = results[SIZES[0]].service.itemsPerSecond;
  for (const b of SIZES) {
    const { raw: r, rawRuns, service: s } = results[b];
    rows.push([
      String(b),
      rawRuns.map(round).join(' / '),
      r.itemsPerSecond,
      r.latencyMs.p50,
      r.latencyMs.p99,
      s.itemsPerSecond,
      s.latencyMs.p50,
      s.latencyMs.p99,
      s.itemsPerSecond / r.itemsPerSecond,
      s.itemsPerSecond / base,
    ]);
  }
  const header = [
    'maxBatchSize',
    'raw before / after',
    'raw items/s (mean)',
    'raw p50 ms',
    'raw p99 ms',
    'service items/s',
    'svc p50 ms',
    'svc p99 ms',
    'service/raw',
    `vs batch ${SIZES[0]}`,
  ];
  console.log(
    `\nInference: ${MODEL}, ${N} images (120x30 PNG) in one burst, jobs of ${JOB_SIZE}; CPU execution provider; ` +
      `load average before ${loadBefore.join(' ')}, after ${loadavg().map(round).join(' ')}\n`,
  );
  console.log(table(header, rows));
  const best = Math.max(...SIZES.map((b) => results[b].service.itemsPerSecond)) / base;
  const worst = Math.min(...SIZES.map((b) => results[b].service.itemsPerSecond / results[b].raw.itemsPerSecond));
  console.log(
    `\nmicro-batching: best ${round(best)}x batch size ${SIZES[0]} (target >= 1.5); ` +
      `service/raw: lowest ${round(worst)} (target >= 0.7)`,
  );
  console.log(JSON.stringify({ bench: 'inference', n: N, jobSize: JOB_SIZE, load: loadBefore, results }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
