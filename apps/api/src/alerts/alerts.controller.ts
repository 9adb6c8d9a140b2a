import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { toAlertView, type AlertView } from '@baton/alerts';
import { decodeCursor, parseLimit, tenantScope, toPage, type Page, type Principal } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import { Caller } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';
import { AlertsQueryDto } from '../schedules/schedules.dto';

/**
 * Alerts, newest first. Operators (admin) see every tenant's and the system's (backlog); a tenant's keys see that
 * tenant's own (its deadlines, its stuck jobs), an addition to API.md so that a team can watch its schedules.
 */
// Not an operators-only route: a member or viewer key reads its own tenant's alerts, an admin key all of them.
@ApiTags('alerts')
@ApiBearerAuth()
@Controller('v1/alerts')
export class AlertsController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get()
  @ApiOperation({ summary: 'Alerts: deadline_at_risk, deadline_missed, backlog, stuck_jobs, delivery_failing' })
  async list(@Query() query: AlertsQueryDto, @Caller() caller: Principal): Promise<Page<AlertView>> {
    const limit = parseLimit(query.limit);
    const rows = await this.runtime.stores.alerts.list(
      { tenantId: tenantScope(caller), state: query.state ?? 'all', kind: query.kind },
      decodeCursor(query.cursor),
      limit + 1,
    );
    const page = toPage(rows, limit, (row) => row.id);
    return { data: page.data.map(toAlertView), nextCursor: page.nextCursor };
  }
}
