import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomChunk } from '@baton/core';
import { metrics } from '@baton/observability';
import { installLeanAsyncBind, type Runtime } from '@baton/runtime';
import { ApiModule } from './api.module';
import { ErrorFilter } from './common/error.filter';
import { registerConsole } from './console/console.plugin';
import type { BatonRequest } from './common/request';
import { batonValidationPipe } from './common/validation.pipe';
import { NestPinoLogger } from './nest-logger';
import { setupOpenApi } from './openapi';
import { leanTaskRoutes } from './tasks/tasks.lean';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** Builds the HTTP app (not yet listening): Fastify, the edge (auth, limits, errors, ids, logs), routes, OpenAPI. */
export async function createApi(runtime: Runtime): Promise<NestFastifyApplication> {
  const { config, log } = runtime;
  installLeanAsyncBind(); // Fastify and Nest bind on every request; see async-bind.ts
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    logger: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming)
        ? incoming
        : `req_${randomChunk(12).toString('base64url')}`;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRuntime(runtime), adapter, {
    logger: new NestPinoLogger(log),
    // Kept for signature checks (cluster callbacks): the signature covers the bytes, not their parse.
    rawBody: true,
  });
  app.useGlobalFilters(new ErrorFilter(log));
  app.useGlobalPipes(batonValidationPipe());
  const fastify = app.getHttpAdapter().getInstance();
  // JSON only: other media types get 415 instead of being handed to a JSON API as text.
  fastify.removeContentTypeParser(['text/plain']);
  fastify.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', String(req.id));
  });
  fastify.addHook('onResponse', async (req: BatonRequest, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, seconds);
    log.info(
      {
        requestId: req.id,
        tenantId: req.principal?.tenantId,
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  // The busiest routes skip Nest's pipeline: as Nest registers them, their handler becomes the lean one.
  const lean = leanTaskRoutes(app, runtime);
  fastify.addHook('onRoute', (route) => {
    const handler = lean[`${String(route.method)} ${route.url}`];
    if (handler) route.handler = handler;
  });
  await registerConsole(app, runtime);
  setupOpenApi(app);
  await app.init();
  return app;
}
