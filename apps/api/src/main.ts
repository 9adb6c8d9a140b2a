import '@baton/observability/register'; // first: tracing hooks must precede HTTP modules
import 'reflect-metadata';
import { startGpuWorker } from '@baton/gpu-worker-app';
import { runProcess, type Stop } from '@baton/runtime';
import { startWorker } from '@baton/worker-app';
import { createApi } from './api.bootstrap';

// `--all` (npm start): the API, the workers and the GPU worker in one process, for a single machine.
const all = process.argv.includes('--all');

void runProcess(all ? 'baton' : 'api', { migrate: true }, async (runtime) => {
  const { config, log } = runtime;
  const api = await createApi(runtime);
  const stops: Stop[] = [];
  if (all) {
    const worker = await startWorker(runtime);
    stops.push(() => worker.close());
    const gpu = await startGpuWorker(runtime);
    stops.push(() => gpu.close());
  }
  await api.listen(config.PORT, config.HOST);
  log.info(
    { port: config.PORT, roles: all ? ['api', 'worker', 'gpu-worker'] : ['api'] },
    `Baton listening on http://${config.HOST}:${config.PORT}`,
  );
  return async () => {
    await api.close();
    for (const stop of stops) await stop();
  };
});
