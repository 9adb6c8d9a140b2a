import '@baton/observability/register'; // first: tracing hooks must precede HTTP modules
import 'reflect-metadata';
import { runProcess } from '@baton/runtime';
import { startGpuWorker } from './gpu-worker.bootstrap';

void runProcess('gpu-worker', { migrate: true }, async (runtime) => {
  const handle = await startGpuWorker(runtime);
  return () => handle.close();
});
