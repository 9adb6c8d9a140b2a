import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { isId, notFound } from '@baton/core';
import { effectiveLimits, publishTenantLimits, type TenantLimits } from '@baton/fairness';
import type { Runtime } from '@baton/runtime';
import { Needs, ReservedId } from '../common/access.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { ApiKeys } from '../common/api-keys.service';
import { RUNTIME } from '../common/tokens';
import {
  ApiKeyCreatedDto,
  CreateApiKeyDto,
  CreateTenantDto,
  TenantDto,
  TenantLimitsDto,
  TenantLimitsViewDto,
} from './tenants.dto';

@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1')
@Needs('admin')
export class TenantsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    private readonly keys: ApiKeys,
  ) {}

  @Post('tenants')
  @HttpCode(201)
  @Idempotent('tenant')
  @ApiOperation({ summary: 'Create a tenant' })
  @ApiCreatedResponse({ type: TenantDto })
  createTenant(@Body() body: CreateTenantDto, @ReservedId() id: string): Promise<TenantDto> {
    return this.runtime.stores.access.createTenant(body.name, id);
  }

  @Get('tenants/:id')
  @ApiOperation({ summary: 'A tenant' })
  @ApiOkResponse({ type: TenantDto })
  async getTenant(@Param('id') id: string): Promise<TenantDto> {
    const tenant = isId('tenant', id) ? await this.runtime.stores.access.findTenant(id) : null;
    if (!tenant) throw notFound('tenant');
    return tenant;
  }

  @Get('tenants/:id/limits')
  @ApiOperation({ summary: "A tenant's fair-share settings: its own, and what applies (defaults filled in)" })
  @ApiOkResponse({ type: TenantLimitsViewDto })
  async getLimits(@Param('id') id: string): Promise<TenantLimitsViewDto> {
    const own = isId('tenant', id) ? await this.runtime.stores.access.tenantLimits(id) : null;
    if (!own) throw notFound('tenant');
    return this.limitsView(id, own);
  }

  @Put('tenants/:id/limits')
  @ApiOperation({
    summary:
      "Replace a tenant's fair-share settings (weight; per queue maxInFlight and ratePerSecond); fields left out follow the defaults",
  })
  @ApiOkResponse({ type: TenantLimitsViewDto })
  async putLimits(@Param('id') id: string, @Body() body: TenantLimitsDto): Promise<TenantLimitsViewDto> {
    const own = plainLimits(body);
    if (!isId('tenant', id) || !(await this.runtime.stores.access.setTenantLimits(id, own))) throw notFound('tenant');
    // Postgres holds them; Redis is where every dispatcher reads them (re-published by the reconciler after a loss).
    await publishTenantLimits(this.runtime.redis, this.runtime.config.QUEUE_PREFIX, id, own);
    return this.limitsView(id, own);
  }

  private limitsView(tenantId: string, own: TenantLimits): TenantLimitsViewDto {
    const { config } = this.runtime;
    const defaults = {
      weight: config.FAIR_DEFAULT_WEIGHT,
      maxInFlight: config.FAIR_DEFAULT_MAX_IN_FLIGHT,
      ratePerSecond: config.FAIR_DEFAULT_RATE,
    };
    return { tenantId, own, effective: effectiveLimits(own, defaults) };
  }

  @Post('tenants/:id/api-keys')
  @HttpCode(201)
  // The secret is never stored for replay: a replay answers with the key's id and role, without its secret.
  @Idempotent('apiKey', ['secret'])
  @ApiOperation({ summary: 'Create an API key for a tenant; the secret is shown this once' })
  @ApiCreatedResponse({ type: ApiKeyCreatedDto })
  async createKey(
    @Param('id') tenantId: string,
    @Body() body: CreateApiKeyDto,
    @ReservedId() id: string,
  ): Promise<ApiKeyCreatedDto> {
    const tenant = isId('tenant', tenantId) ? await this.runtime.stores.access.findTenant(tenantId) : null;
    if (!tenant) throw notFound('tenant');
    return this.runtime.stores.access.createApiKey(tenantId, body.role, body.name ?? null, id);
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key; it stops working at once' })
  @ApiNoContentResponse()
  async revokeKey(@Param('id') id: string): Promise<void> {
    if (!isId('apiKey', id) || !(await this.runtime.stores.access.revokeKey(id))) throw notFound('API key');
    await this.keys.revoked();
  }
}

/** The DTO as plain JSON, without the fields left out (they follow the defaults). */
function plainLimits(body: TenantLimitsDto): TenantLimits {
  return JSON.parse(JSON.stringify(body)) as TenantLimits;
}
