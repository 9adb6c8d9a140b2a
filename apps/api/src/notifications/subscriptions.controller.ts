import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { decodeCursor, isId, notFound, parseLimit, tenantScope, toPage, type Page, type Principal } from '@baton/core';
import type { NotificationService } from '@baton/notifications';
import { Caller, Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { PageQueryDto } from '../common/page-query.dto';
import { NotificationServiceProvider } from './notification-service.provider';
import { CreateSubscriptionDto, SubscriptionCreatedDto, SubscriptionDto } from './notifications.dto';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('v1/subscriptions')
export class SubscriptionsController {
  private readonly notifications: NotificationService;

  constructor(provider: NotificationServiceProvider) {
    this.notifications = provider.service;
  }

  @Post()
  @HttpCode(201)
  @Needs('write')
  // The secret is never stored for replay: a replay answers without it.
  @Idempotent('subscription', ['secret'])
  @ApiOperation({ summary: "A tenant's default subscription to event types; a webhook's secret is shown this once" })
  @ApiHeader({ name: 'Idempotency-Key', required: false })
  @ApiCreatedResponse({ type: SubscriptionCreatedDto })
  create(
    @Body() body: CreateSubscriptionDto,
    @Caller() caller: Principal,
    @ReservedId() id: string,
  ): Promise<SubscriptionCreatedDto> {
    return this.notifications.subscribe(caller.tenantId, id, body);
  }

  @Get()
  @ApiOperation({ summary: 'Subscriptions, newest first (admins: every tenant)' })
  @ApiOkResponse({ type: [SubscriptionDto] })
  async list(@Query() query: PageQueryDto, @Caller() caller: Principal): Promise<Page<SubscriptionDto>> {
    const limit = parseLimit(query.limit);
    const rows = await this.notifications.listSubscriptions(tenantScope(caller), decodeCursor(query.cursor), limit + 1);
    return toPage(rows, limit, (row) => row.id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Needs('write')
  @ApiOperation({ summary: 'Delete a subscription; its pending deliveries are cancelled' })
  @ApiNoContentResponse()
  async remove(@Param('id') id: string, @Caller() caller: Principal): Promise<void> {
    if (!isId('subscription', id)) throw notFound('subscription');
    await this.notifications.unsubscribe(id, tenantScope(caller));
  }
}
