import '@baton/observability/register'; // first: tracing hooks must precede HTTP modules
import 'reflect-metadata';
import { QUEUES } from '@baton/contracts';
import { runProcess, serveProcessMetrics } from '@baton/runtime';
import { startGpuWorker } from './gpu-worker.bootstrap';

void runProcess('gpu-worker', { migrate: true }, async (runtime) => {
  const handle = await startGpuWorker(runtime);
  const metricsServer = await serveProcessMetrics(runtime, runtime.config.GPU_METRICS_PORT, [QUEUES.inference]);
  return async () => {
    await metricsServer.close();
    await handle.close();
  };
});
