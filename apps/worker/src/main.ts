import '@baton/observability/register'; // first: tracing hooks must precede HTTP modules
import 'reflect-metadata';
import { runProcess } from '@baton/runtime';
import { startWorker } from './worker.bootstrap';

void runProcess('worker', { migrate: true }, async (runtime) => {
  const app = await startWorker(runtime);
  return () => app.close();
});
