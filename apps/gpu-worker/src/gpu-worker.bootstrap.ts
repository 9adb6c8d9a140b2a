import { randomUUID } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { MetricsTime, Worker, type Job } from 'bullmq';
import type { JobPayloads } from '@baton/contracts';
import { QUEUES } from '@baton/contracts';
import {
  sessionLayout,
  InferenceQueue,
  InferenceRunner,
  InferenceSummaries,
  ModelRegistry,
  OnnxSessions,
  type Device,
} from '@baton/inference';
import { metrics } from '@baton/observability';
import { createRedis } from '@baton/queue';
import { registerWorker, type Runtime } from '@baton/runtime';
import { reconcileInference } from './inference.reconciler';
import { watchGpuUtilization } from './gpu-utilization';

/** How often results past RESULT_TTL are deleted, and how many items one pass deletes at most. */
const PURGE_EVERY_MS = 10 * 60_000;
const PURGE_CHUNK = 5000;

export interface GpuWorkerHandle {
  device: Device;
  runner: InferenceRunner;
  /** Deletes expired results now (also runs on a timer). */
  purge(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The GPU worker process: warm ONNX Runtime sessions (CUDA when INFERENCE_DEVICE=cuda and it loads, else CPU, logged),
 * one BullMQ worker on the inference queue feeding the micro-batcher, the inference reconciler and the results purge.
 * Registers itself in the workers table so operators see it.
 */
export async function startGpuWorker(runtime: Runtime): Promise<GpuWorkerHandle> {
  const { config, log } = runtime;
  const registry = new ModelRegistry(config.INFERENCE_MODELS_FILE);
  const cuda = config.INFERENCE_DEVICE === 'cuda';
  const layout = sessionLayout(
    { sessions: config.INFERENCE_SESSIONS, threads: config.INFERENCE_THREADS },
    availableParallelism(),
  );
  const sessions = await OnnxSessions.open(cuda, log, layout.threadsPerSession, layout.sessions);
  const store = runtime.stores.inference;
  const summaries = new InferenceSummaries(runtime.redis, config.QUEUE_PREFIX);
  const runner = new InferenceRunner(
    store,
    summaries,
    registry,
    sessions,
    {
      maxBatchSize: config.INFERENCE_MAX_BATCH_SIZE,
      maxWaitMs: config.INFERENCE_MAX_WAIT_MS,
      // One batch waiting at the runtime beside those running, so no session idles between batches.
      inFlight: layout.sessions + 1,
    },
    log,
    {
      batch: (model, size, seconds) => {
        metrics.inferenceBatchSize.observe({ model }, size);
        metrics.inferenceLatency.observe({ model }, seconds);
      },
      queueWait: (model, seconds) => metrics.inferenceQueueWait.observe({ model }, seconds),
      item: (model, status) => metrics.inferenceItems.inc({ model, status }),
    },
  );
  await runner.warm();
  // Pipelined, as the worker's: BullMQ's blocking wait has a connection of its own.
  const connection = createRedis(runtime.redisTarget, { blocking: true, name: 'worker:inference', pipelining: true });
  connection.on('error', () => undefined);
  const worker = new Worker(QUEUES.inference, (job: Job<JobPayloads['inference.item']>) => runner.process(job), {
    connection,
    prefix: config.QUEUE_PREFIX,
    // Enough items in hand to fill the next batch while one runs.
    concurrency: config.INFERENCE_CONCURRENCY,
    lockDuration: config.INFERENCE_LOCK_MS,
    stalledInterval: config.INFERENCE_LOCK_MS,
    maxStalledCount: 3,
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
  });
  worker.on('error', (err) => log.error({ queue: QUEUES.inference, err }, 'inference worker error'));
  worker.on('stalled', () => metrics.stalled.inc({ queue: QUEUES.inference }));
  // Fair sharing: an item's slot is freed when it ends for good; this worker's concurrency sizes the window.
  const fair = runtime.fair.inference;
  const fairId = `${hostname()}:${process.pid}:gpu:${randomUUID()}`;
  if (fair) {
    fair.attach(worker);
    fair.start(fairId, config.INFERENCE_CONCURRENCY);
  }
  const queue = new InferenceQueue(
    runtime.producer,
    { attempts: config.INFERENCE_MAX_ATTEMPTS, backoffMs: 500 },
    runtime.fair.inference,
  );
  const purge = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await store.purgeExpired(new Date(), PURGE_CHUNK);
      total += n;
      if (n < PURGE_CHUNK) return total;
    }
  };
  const timers = [
    setInterval(
      () =>
        // The fair audit first: it frees the slots of items admitted but never added, which the reconcile then finds.
        void (async () => {
          await fair?.audit();
          await reconcileInference(
            store,
            queue,
            { queue: runtime.producer.queue(QUEUES.inference), redis: runtime.redis },
            config.RECONCILE_GRACE_MS,
          );
        })().catch((err: unknown) => log.warn({ err }, 'inference reconcile failed')),
      config.RECONCILE_INTERVAL_MS,
    ),
    setInterval(
      () => void purge().catch((err: unknown) => log.warn({ err }, 'inference purge failed')),
      PURGE_EVERY_MS,
    ),
  ];
  const stopGpuWatch = sessions.device === 'cuda' ? watchGpuUtilization(log) : () => undefined;
  const registration = await registerWorker(runtime, 'gpu-worker', [QUEUES.inference]);
  log.info(
    {
      workerId: registration.id,
      device: sessions.device,
      maxBatchSize: config.INFERENCE_MAX_BATCH_SIZE,
      maxWaitMs: config.INFERENCE_MAX_WAIT_MS,
      ...layout,
      models: registry.list().map((m) => `${m.name}@${m.defaultVersion}`),
    },
    'gpu worker started',
  );
  return {
    device: sessions.device,
    runner,
    purge,
    async close() {
      for (const t of timers) clearInterval(t);
      stopGpuWatch();
      await registration.stop();
      await fair?.stop(fairId);
      await worker.close();
      connection.disconnect();
      await sessions.close();
    },
  };
}
