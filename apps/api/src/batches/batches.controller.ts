import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { BatchService } from '@baton/batches';
import { QUEUES } from '@baton/contracts';
import { isId, notFound, tenantScope, type Principal } from '@baton/core';
import { Caller, Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { Backpressure } from '../common/backpressure.guard';
import type { BatonRequest } from '../common/request';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { BatchServiceProvider } from './batch-service.provider';
import { BatchDto, BatchJobDto, CreateBatchDto } from './batches.dto';

@ApiTags('batches')
@ApiBearerAuth()
@Controller('v1/batches')
export class BatchesController {
  private readonly batches: BatchService;

  constructor(
    provider: BatchServiceProvider,
    private readonly notifications: NotificationServiceProvider,
  ) {
    this.batches = provider.service;
  }

  @Post()
  @HttpCode(202)
  @Needs('write')
  @Idempotent('batch', ['webhookSecret'])
  @Backpressure(QUEUES.cluster)
  @ApiOperation({ summary: 'Submit 1 to 100,000 items to the external cluster as one batch' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiBody({ type: CreateBatchDto })
  @ApiAcceptedResponse({ type: BatchDto })
  async create(
    // Checked by the service (parseBatchRequest): a DTO would copy every item before checking it.
    @Body() body: unknown,
    @Caller() caller: Principal,
    @ReservedId() id: string | undefined,
    @Req() req: BatonRequest,
  ) {
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : undefined;
    const { notify, reveal } = await this.notifications.prepare((fields as { notify?: unknown } | undefined)?.notify);
    const batch = await this.batches.create(caller.tenantId, fields ? { ...fields, notify } : body, {
      id,
      requestId: String(req.id),
    });
    return reveal(batch, id);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A batch: status, outcome and counts (a summary, never a scan of its jobs)' })
  @ApiOkResponse({ type: BatchDto })
  get(@Param('id') id: string, @Caller() caller: Principal) {
    if (!isId('batch', id)) throw notFound('batch');
    return this.batches.get(id, tenantScope(caller));
  }

  @Get(':id/jobs')
  @ApiOperation({ summary: "A batch's jobs in index order, optionally only those of one status" })
  @ApiQuery({ name: 'status', required: false, enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
  @ApiQuery({ name: 'limit', required: false })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiOkResponse({ type: [BatchJobDto] })
  jobs(
    @Param('id') id: string,
    @Query() query: { status?: string; limit?: string; cursor?: string },
    @Caller() caller: Principal,
  ) {
    if (!isId('batch', id)) throw notFound('batch');
    return this.batches.jobs(id, tenantScope(caller), query);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @Needs('write')
  @ApiOperation({ summary: 'Cancel a batch: queued jobs never start, running cluster jobs are cancelled' })
  @ApiAcceptedResponse({ type: BatchDto })
  cancel(@Param('id') id: string, @Caller() caller: Principal) {
    if (!isId('batch', id)) throw notFound('batch');
    return this.batches.cancel(id, tenantScope(caller));
  }

  @Post(':id/jobs/:jobId/cancel')
  @HttpCode(202)
  @Needs('write')
  @ApiOperation({ summary: 'Cancel one job of a batch' })
  @ApiAcceptedResponse({ type: BatchJobDto })
  cancelJob(@Param('id') id: string, @Param('jobId') jobId: string, @Caller() caller: Principal) {
    if (!isId('batch', id) || !isId('batchJob', jobId)) throw notFound('batch job');
    return this.batches.cancelJob(id, jobId, tenantScope(caller));
  }

  @Post(':id/retry-failed')
  @HttpCode(202)
  @Needs('write')
  @ApiOperation({ summary: 'Run the failed jobs of a finished batch again; the batch reopens' })
  @ApiAcceptedResponse({ type: BatchDto })
  retryFailed(@Param('id') id: string, @Caller() caller: Principal) {
    if (!isId('batch', id)) throw notFound('batch');
    return this.batches.retryFailed(id, tenantScope(caller));
  }
}
