import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, parseLimit, tenantScope, toPage, type Page, type Principal } from '@baton/core';
import type { NotificationService } from '@baton/notifications';
import { Caller } from '../common/access.decorators';
import { NotificationServiceProvider } from './notification-service.provider';
import { DeliveriesQueryDto, DeliveryDto } from './notifications.dto';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('v1/notifications')
export class NotificationsController {
  private readonly notifications: NotificationService;

  constructor(provider: NotificationServiceProvider) {
    this.notifications = provider.service;
  }

  @Get()
  @ApiOperation({
    summary: 'Deliveries, newest first, with attempts, last status code and next retry time (tenants see their own)',
  })
  @ApiOkResponse({ type: [DeliveryDto] })
  async list(@Query() query: DeliveriesQueryDto, @Caller() caller: Principal): Promise<Page<DeliveryDto>> {
    const limit = parseLimit(query.limit);
    const rows = await this.notifications.deliveries(
      { subjectId: query.subject, tenantId: tenantScope(caller) },
      decodeCursor(query.cursor),
      limit + 1,
    );
    return toPage(rows, limit, (row) => row.id);
  }
}
