import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { isId, notFound, tenantScope, type Page, type Principal } from '@baton/core';
import type { RunView, ScheduleAnswer, ScheduleService, ScheduleView } from '@baton/schedules';
import { Caller, Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { PageQueryDto } from '../common/page-query.dto';
import { ScheduleServiceProvider } from './schedule-service.provider';
import { ScheduleBodyDto, UpcomingQueryDto } from './schedules.dto';

const checkId = (id: string): void => {
  if (!isId('schedule', id)) throw notFound('schedule');
};

@ApiTags('schedules')
@ApiBearerAuth()
@Controller('v1/schedules')
export class SchedulesController {
  private readonly schedules: ScheduleService;

  constructor(
    provider: ScheduleServiceProvider,
    private readonly notifications: NotificationServiceProvider,
  ) {
    this.schedules = provider.service;
  }

  @Post()
  @HttpCode(201)
  @Needs('write')
  @Idempotent('schedule', ['webhookSecret'])
  @ApiOperation({ summary: 'Create a schedule (cron in a time zone, fixed rate, or one-off); answers with its ETag' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  async create(
    @Body() body: ScheduleBodyDto,
    @Caller() caller: Principal,
    @ReservedId() id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleView & { webhookSecret?: string }> {
    const { notify, reveal } = await this.notifications.prepare(body.notify);
    return reveal(withEtag(reply, await this.schedules.create(caller.tenantId, { ...body, notify }, id)), id);
  }

  @Get()
  @ApiOperation({ summary: 'Schedules, oldest first' })
  list(@Query() query: PageQueryDto, @Caller() caller: Principal): Promise<Page<ScheduleView>> {
    return this.schedules.list(tenantScope(caller), query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A schedule, with its ETag' })
  async get(
    @Param('id') id: string,
    @Caller() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleView> {
    checkId(id);
    return withEtag(reply, await this.schedules.get(id, tenantScope(caller)));
  }

  @Patch(':id')
  @Needs('write')
  @ApiOperation({ summary: 'Change a schedule; with If-Match, 412 when it changed since it was read' })
  @ApiHeader({ name: 'If-Match', required: false })
  async update(
    @Param('id') id: string,
    @Body() body: ScheduleBodyDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Caller() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleView & { webhookSecret?: string }> {
    checkId(id);
    const { notify, reveal } = await this.notifications.prepare(body.notify);
    // Absent keeps the stored notify, null clears it.
    const changes = { ...body, notify: body.notify === null ? null : notify };
    const schedule = withEtag(reply, await this.schedules.update(id, tenantScope(caller), changes, ifMatch));
    return reveal(schedule, schedule.id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Needs('write')
  @ApiOperation({ summary: 'Delete a schedule: it never fires again; its run history stays readable by id' })
  async remove(@Param('id') id: string, @Caller() caller: Principal): Promise<void> {
    checkId(id);
    await this.schedules.remove(id, tenantScope(caller));
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Needs('write')
  @ApiOperation({ summary: 'Pause: no runs fire until resumed' })
  async pause(
    @Param('id') id: string,
    @Caller() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleView> {
    checkId(id);
    return withEtag(reply, await this.schedules.pause(id, tenantScope(caller)));
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Needs('write')
  @ApiOperation({ summary: 'Resume; fire times missed while paused follow the catch-up policy' })
  async resume(
    @Param('id') id: string,
    @Caller() caller: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleView> {
    checkId(id);
    return withEtag(reply, await this.schedules.resume(id, tenantScope(caller)));
  }

  @Post(':id/trigger')
  @HttpCode(202)
  @Needs('write')
  @Idempotent('run')
  @ApiOperation({ summary: 'Run now (outside the schedule); honours Idempotency-Key' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  trigger(@Param('id') id: string, @Caller() caller: Principal, @ReservedId() runId: string): Promise<RunView> {
    checkId(id);
    return this.schedules.trigger(id, tenantScope(caller), runId);
  }

  @Get(':id/upcoming')
  @ApiOperation({ summary: 'The next fire times, in UTC (`at`) and in the schedule zone (`local`)' })
  upcoming(@Param('id') id: string, @Query() query: UpcomingQueryDto, @Caller() caller: Principal) {
    checkId(id);
    return this.schedules.upcoming(id, tenantScope(caller), query.count);
  }

  @Get(':id/runs')
  @ApiOperation({
    summary: 'Run history, newest first: scheduledFor, firedAt, lagMs, status, target, deadline outcome',
  })
  runs(@Param('id') id: string, @Query() query: PageQueryDto, @Caller() caller: Principal): Promise<Page<RunView>> {
    checkId(id);
    return this.schedules.runs(id, tenantScope(caller), query);
  }
}

function withEtag(reply: FastifyReply, answer: ScheduleAnswer): ScheduleView {
  void reply.header('etag', answer.etag);
  return answer.schedule;
}
