import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { QUEUES } from '@baton/contracts';
import { isId, notFound, tenantScope, type Principal } from '@baton/core';
import type { TaskService } from '@baton/tasks';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { TaskServiceProvider } from './task-service.provider';
import { Caller, Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { Backpressure } from '../common/backpressure.guard';
import type { BatonRequest } from '../common/request';
import { PageQueryDto } from '../common/page-query.dto';
import { CreateTaskDto, TaskDto } from './tasks.dto';
import { submitTask } from './tasks.lean';

/**
 * The task routes. `POST /v1/tasks` and `GET /v1/tasks/:id` are declared here (paths, OpenAPI, Nest's metadata) but
 * served by the lean handlers of tasks.lean.ts, which run the same edge without Nest's pipeline.
 */
@ApiTags('tasks')
@ApiBearerAuth()
@Controller('v1/tasks')
export class TasksController {
  private readonly tasks: TaskService;

  constructor(
    provider: TaskServiceProvider,
    private readonly notifications: NotificationServiceProvider,
  ) {
    this.tasks = provider.service;
  }

  @Post()
  @HttpCode(202)
  @Needs('write')
  // A webhook secret Baton generated for `notify` is in the first answer only, never in a replay.
  @Idempotent('task', ['webhookSecret'])
  @Backpressure(QUEUES.tasks)
  @ApiOperation({ summary: 'Submit a task to a built-in handler' })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiAcceptedResponse({ type: TaskDto })
  create(
    @Body() body: CreateTaskDto,
    @Caller() caller: Principal,
    @ReservedId() id: string,
    @Req() req: BatonRequest,
  ): Promise<TaskDto> {
    return submitTask(this.tasks, this.notifications, caller, body, id, String(req.id));
  }

  @Get(':id')
  @ApiOperation({ summary: 'A task, with its status and progress' })
  @ApiOkResponse({ type: TaskDto })
  get(@Param('id') id: string, @Caller() caller: Principal): Promise<TaskDto> {
    if (!isId('task', id)) throw notFound('task');
    return this.tasks.get(id, tenantScope(caller));
  }

  @Get(':id/logs')
  @ApiOperation({ summary: "A task's log lines, oldest first" })
  logs(@Param('id') id: string, @Query() query: PageQueryDto, @Caller() caller: Principal) {
    if (!isId('task', id)) throw notFound('task');
    return this.tasks.logs(id, tenantScope(caller), query);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @Needs('write')
  @ApiOperation({ summary: 'Cancel a task: queued tasks never start, a running one is aborted' })
  @ApiAcceptedResponse({ type: TaskDto })
  cancel(@Param('id') id: string, @Caller() caller: Principal): Promise<TaskDto> {
    if (!isId('task', id)) throw notFound('task');
    return this.tasks.cancel(id, tenantScope(caller));
  }
}
