import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { withTimeout } from '@baton/core';
import { ALL_QUEUES } from '@baton/contracts';
import { registry } from '@baton/observability';
import { refreshQueueGauges, type Runtime } from '@baton/runtime';
import { Public } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';

@ApiExcludeController()
@Controller()
@Public()
export class HealthController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  /** The process is up. */
  @Get('healthz')
  health(): { status: string } {
    return { status: 'ok' };
  }

  /** Redis and Postgres answer; 503 otherwise, so a load balancer stops sending traffic here. */
  @Get('readyz')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const [redis, postgres] = await Promise.all([
      withTimeout(this.runtime.redis.ping(), 1000).then(
        () => 'ok',
        (e: Error) => `down: ${e.message}`,
      ),
      withTimeout(this.runtime.prisma.$queryRaw`SELECT 1`, 2000).then(
        () => 'ok',
        (e: Error) => `down: ${e.message.split('\n')[0]}`,
      ),
    ]);
    const ok = redis === 'ok' && postgres === 'ok';
    await reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks: { redis, postgres } });
  }

  /** Queue gauges are read at scrape time (bounded, so a Redis that is away does not hold the scrape). */
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    await refreshQueueGauges(this.runtime, ALL_QUEUES);
    return registry.metrics();
  }
}
