import { Readable } from 'node:stream';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { QUEUES } from '@baton/contracts';
import { isId, newId, notFound, tenantScope, type Principal } from '@baton/core';
import { parseSubmission, type InferenceService } from '@baton/inference';
import { Caller, Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { Backpressure } from '../common/backpressure.guard';
import type { BatonRequest } from '../common/request';
import { InferenceServiceProvider } from './inference-service.provider';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { InferenceJobDto, InferenceResultDto, ModelDto, ResultsQueryDto, SubmitInferenceDto } from './inference.dto';

@ApiTags('inference')
@ApiBearerAuth()
@Controller('v1')
export class InferenceController {
  private readonly inference: InferenceService;

  constructor(
    provider: InferenceServiceProvider,
    private readonly notifications: NotificationServiceProvider,
  ) {
    this.inference = provider.service;
  }

  @Get('models')
  @ApiOperation({ summary: 'The models served: versions, default version, and what an input looks like' })
  @ApiOkResponse({ type: [ModelDto] })
  models() {
    return { data: this.inference.models() };
  }

  @Post('inference/jobs')
  @HttpCode(202)
  @Needs('write')
  @Idempotent('inference', ['webhookSecret'])
  @Backpressure(QUEUES.inference)
  @ApiOperation({ summary: 'Submit one input or up to 10,000 to a model; the version is pinned now' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ type: SubmitInferenceDto })
  @ApiAcceptedResponse({ type: InferenceJobDto })
  async submit(
    // Checked by parseSubmission and planSubmission: a DTO would copy every input before they check it.
    @Body() body: unknown,
    @Caller() caller: Principal,
    @ReservedId() id: string | undefined,
    @Req() req: BatonRequest,
  ) {
    const submission = parseSubmission(body);
    const { notify, reveal } = await this.notifications.prepare(submission.notify);
    const jobId = id ?? newId('inference');
    const job = await this.inference.submit(
      caller.tenantId,
      { ...submission, notify },
      { id: jobId, requestId: String(req.id) },
    );
    return reveal(job, jobId);
  }

  @Get('inference/jobs/:id')
  @ApiOperation({ summary: 'An inference job: status, outcome and counts (from its summary, never a scan)' })
  @ApiOkResponse({ type: InferenceJobDto })
  get(@Param('id') id: string, @Caller() caller: Principal) {
    if (!isId('inference', id)) throw notFound('inference job');
    return this.inference.get(id, tenantScope(caller));
  }

  @Get('inference/jobs/:id/results')
  @ApiOperation({ summary: 'Item results in index order, optionally only succeeded or failed ones' })
  @ApiOkResponse({ type: [InferenceResultDto] })
  results(@Param('id') id: string, @Query() query: ResultsQueryDto, @Caller() caller: Principal) {
    if (!isId('inference', id)) throw notFound('inference job');
    return this.inference.results(id, tenantScope(caller), query);
  }

  @Get('inference/jobs/:id/results.jsonl')
  @ApiOperation({ summary: 'Every item, one JSON object a line, in index order (streamed)' })
  @ApiProduces('application/x-ndjson')
  async resultsJsonl(@Param('id') id: string, @Caller() caller: Principal, @Res() reply: FastifyReply) {
    if (!isId('inference', id)) throw notFound('inference job');
    const pages = await this.inference.stream(id, tenantScope(caller));
    const lines = Readable.from(
      (async function* () {
        for await (const page of pages) yield page.map((item) => JSON.stringify(item) + '\n').join('');
      })(),
    );
    return reply.type('application/x-ndjson').send(lines);
  }

  @Post('inference/jobs/:id/cancel')
  @HttpCode(202)
  @Needs('write')
  @ApiOperation({ summary: 'Cancel an inference job: items not yet run never run' })
  @ApiAcceptedResponse({ type: InferenceJobDto })
  cancel(@Param('id') id: string, @Caller() caller: Principal) {
    if (!isId('inference', id)) throw notFound('inference job');
    return this.inference.cancel(id, tenantScope(caller));
  }
}
