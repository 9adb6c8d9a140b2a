import '@baton/observability/register'; // first: tracing hooks must precede HTTP modules
import 'reflect-metadata';
import { runProcess, serveProcessMetrics } from '@baton/runtime';
import { parseWorkerQueues } from './queue-workers.service';
import { startWorker } from './worker.bootstrap';

void runProcess('worker', { migrate: true }, async (runtime) => {
  const app = await startWorker(runtime);
  const { METRICS_PORT, WORKER_QUEUES } = runtime.config;
  const metricsServer = await serveProcessMetrics(runtime, METRICS_PORT, parseWorkerQueues(WORKER_QUEUES));
  return async () => {
    await metricsServer.close();
    await app.close();
  };
});
