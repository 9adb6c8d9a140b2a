import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BatonError, decodeCursor, parseLimit, toPage, type Page } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import { Needs } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';
import { historySources, type HistorySource } from './job-history';
import { JOB_KINDS, JobDto, JobsQueryDto } from './operators.dto';

/** The part of an id after its type prefix: creation time, then randomness; it orders ids of every kind. */
const sortKey = (id: string): string => id.slice(id.indexOf('_') + 1);
const CURSOR = /^[a-z]{3}_[0-9a-z]{26}$/;

@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/jobs')
@Needs('admin')
export class JobsController {
  private readonly sources: Record<(typeof JOB_KINDS)[number], HistorySource>;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.sources = historySources(runtime);
  }

  /**
   * From Postgres, so history outlives what Redis keeps; `status=running` is what runs now. Newest first across
   * kinds: each kind's page comes from its own index, and the pages are merged by creation time (the id's time part).
   */
  @Get()
  @ApiOperation({ summary: 'What runs now, and the execution history of every kind, from Postgres' })
  @ApiOkResponse({ type: [JobDto] })
  async list(@Query() query: JobsQueryDto): Promise<Page<JobDto>> {
    const limit = parseLimit(query.limit);
    const cursor = decodeCursor(query.cursor);
    if (cursor !== undefined && !CURSOR.test(cursor)) {
      throw new BatonError('validation_failed', 'cursor is not valid', [{ field: 'cursor', message: 'is not valid' }]);
    }
    const kinds = query.kind ? [query.kind as (typeof JOB_KINDS)[number]] : JOB_KINDS;
    const filter = { status: query.status, tenantId: query.tenant };
    const pages = await Promise.all(
      kinds.map((kind) => {
        const source = this.sources[kind];
        return source.list(filter, cursor && `${source.prefix}_${sortKey(cursor)}`, limit + 1);
      }),
    );
    const newestFirst = pages.flat().sort((a, b) => (sortKey(a.id) < sortKey(b.id) ? 1 : -1));
    return toPage(newestFirst.slice(0, limit + 1), limit, (row) => row.id);
  }
}
