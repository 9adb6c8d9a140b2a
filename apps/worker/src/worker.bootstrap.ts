import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import type { Runtime } from '@baton/runtime';
import { WorkerModule } from './worker.module';

/** Starts the queue workers of this process; no HTTP server. */
export async function startWorker(runtime: Runtime): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(WorkerModule.forRuntime(runtime), { logger: false });
  await app.init();
  return app;
}
