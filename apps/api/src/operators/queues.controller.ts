import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ALL_QUEUES, type QueueName } from '@baton/contracts';
import { notFound } from '@baton/core';
import { describeQueue, type QueueStats } from '@baton/queue';
import type { Runtime } from '@baton/runtime';
import { Needs } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';
import { QueueDto } from './operators.dto';

@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/queues')
@Needs('admin')
export class QueuesController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get()
  @ApiOperation({ summary: 'Every queue: depth by state, paused, oldest waiting age, throughput' })
  @ApiOkResponse({ type: [QueueDto] })
  async list(): Promise<{ data: QueueStats[] }> {
    const now = Date.now();
    return { data: await Promise.all(ALL_QUEUES.map((name) => describeQueue(this.runtime.producer.queue(name), now))) };
  }

  @Post(':name/pause')
  @HttpCode(202)
  @ApiOperation({ summary: 'Pause a queue: workers finish what they run and take nothing new' })
  @ApiAcceptedResponse({ type: QueueDto })
  async pause(@Param('name') name: string): Promise<QueueStats> {
    const queue = this.queue(name);
    await queue.pause();
    return describeQueue(queue);
  }

  @Post(':name/resume')
  @HttpCode(202)
  @ApiOperation({ summary: 'Resume a paused queue' })
  @ApiAcceptedResponse({ type: QueueDto })
  async resume(@Param('name') name: string): Promise<QueueStats> {
    const queue = this.queue(name);
    await queue.resume();
    return describeQueue(queue);
  }

  private queue(name: string) {
    if (!ALL_QUEUES.includes(name as QueueName)) throw notFound('queue');
    return this.runtime.producer.queue(name as QueueName);
  }
}
