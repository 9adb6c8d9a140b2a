import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, parseLimit, toPage, type Page } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import type { TaskRecord } from '@baton/tasks';
import { Needs } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';
import { JobDto, JobsQueryDto } from './operators.dto';

const iso = (d: Date | null): string | undefined => d?.toISOString();

const taskAsJob = (t: TaskRecord): JobDto => ({
  id: t.id,
  kind: 'task',
  tenantId: t.tenantId,
  status: t.status,
  name: t.handler,
  attempts: t.attempts,
  createdAt: t.createdAt.toISOString(),
  startedAt: iso(t.startedAt),
  finishedAt: iso(t.finishedAt),
  lastError: t.lastError ?? undefined,
});

@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/jobs')
@Needs('admin')
export class JobsController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  /** From Postgres, so history outlives what Redis keeps; `status=running` is what runs now. Newest first. */
  @Get()
  @ApiOperation({ summary: 'What runs now, and the execution history of every kind, from Postgres' })
  @ApiOkResponse({ type: [JobDto] })
  async list(@Query() query: JobsQueryDto): Promise<Page<JobDto>> {
    const limit = parseLimit(query.limit);
    const before = decodeCursor(query.cursor);
    const rows = await this.runtime.stores.tasks.history(
      { status: query.status, tenantId: query.tenant },
      before,
      limit + 1,
    );
    const page = toPage(rows, limit, (row) => row.id);
    return { data: page.data.map(taskAsJob), nextCursor: page.nextCursor };
  }
}
