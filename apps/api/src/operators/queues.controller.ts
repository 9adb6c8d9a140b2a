import { Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ALL_QUEUES, type QueueName } from '@baton/contracts';
import { notFound } from '@baton/core';
import type { FairQueueStats } from '@baton/fairness';
import { describeQueueOf, type Runtime } from '@baton/runtime';
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
  async list(): Promise<{ data: FairQueueStats[] }> {
    const now = Date.now();
    return { data: await Promise.all(ALL_QUEUES.map((name) => describeQueueOf(this.runtime, name, now))) };
  }

  @Post(':name/pause')
  @HttpCode(202)
  @ApiOperation({ summary: 'Pause a queue: workers finish what they run and take nothing new' })
  @ApiAcceptedResponse({ type: QueueDto })
  async pause(@Param('name') name: string): Promise<FairQueueStats> {
    await this.queue(name).pause();
    return describeQueueOf(this.runtime, name as QueueName);
  }

  @Post(':name/resume')
  @HttpCode(202)
  @ApiOperation({ summary: 'Resume a paused queue' })
  @ApiAcceptedResponse({ type: QueueDto })
  async resume(@Param('name') name: string): Promise<FairQueueStats> {
    await this.queue(name).resume();
    return describeQueueOf(this.runtime, name as QueueName);
  }

  private queue(name: string) {
    if (!ALL_QUEUES.includes(name as QueueName)) throw notFound('queue');
    return this.runtime.producer.queue(name as QueueName);
  }
}
