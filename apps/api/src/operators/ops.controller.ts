import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { PendingRow, RetryRow } from '@baton/db';
import type { Runtime } from '@baton/runtime';
import { Needs } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';

const DAY_MS = 86_400_000;

export class WindowQueryDto {
  @ApiPropertyOptional({ description: 'how far back to look, ms', minimum: 1000, maximum: 90 * DAY_MS })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1000)
  @Max(90 * DAY_MS)
  windowMs?: number;
}

export class PendingQueryDto {
  @ApiPropertyOptional({
    description: 'waiting longer than this, ms',
    minimum: 0,
    maximum: 90 * DAY_MS,
    default: 60_000,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(90 * DAY_MS)
  olderThanMs?: number;
}

/** The operator questions of REQUIREMENTS §4, answered from Postgres, each from an index range. */
@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/ops')
@Needs('admin')
export class OpsController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Get('pending')
  @ApiOperation({ summary: 'Starving work: due tasks waiting longer than olderThanMs, per handler' })
  async pending(@Query() q: PendingQueryDto): Promise<{ olderThanMs: number; data: PendingRow[] }> {
    const olderThanMs = q.olderThanMs ?? 60_000;
    return { olderThanMs, data: await this.runtime.stores.ops.pendingTooLong(olderThanMs) };
  }

  @Get('retries')
  @ApiOperation({ summary: 'Flaky work: attempts beyond the first per success, per handler, over a window' })
  async retries(@Query() q: WindowQueryDto): Promise<{ windowMs: number; data: RetryRow[] }> {
    const windowMs = q.windowMs ?? 3_600_000;
    return { windowMs, data: await this.runtime.stores.ops.retriesPerSuccess(windowMs) };
  }

  @Get('dead-letters')
  @ApiOperation({ summary: 'Dead letters per kind over a window' })
  async deadLetters(
    @Query() q: WindowQueryDto,
  ): Promise<{ windowMs: number; data: { kind: string; count: number }[] }> {
    const windowMs = q.windowMs ?? DAY_MS;
    return { windowMs, data: await this.runtime.stores.ops.deadLettersByKind(windowMs) };
  }
}
