import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNumber, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { ROLES, type Role } from '@baton/core';
import { MAX_TENANT_IN_FLIGHT, MAX_TENANT_RATE, MAX_WEIGHT, MIN_WEIGHT } from '@baton/fairness';

export class CreateTenantDto {
  @ApiProperty({ maxLength: 200, example: 'acme' })
  @IsString()
  @Length(1, 200)
  name!: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;
}

export class TenantDto {
  @ApiProperty({ example: 'ten_01jd…' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ApiKeyCreatedDto {
  @ApiProperty({ example: 'key_01jd…' }) id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiPropertyOptional() name?: string | null;
  @ApiProperty({ description: 'Shown this once; only its digest is stored' }) secret!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class QueueLimitsDto {
  @ApiPropertyOptional({ minimum: 0, description: 'jobs admitted and unfinished at once on this queue (0: no limit)' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_TENANT_IN_FLIGHT)
  maxInFlight?: number;

  @ApiPropertyOptional({ minimum: 0, description: 'admissions per second on this queue (0: no limit)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(MAX_TENANT_RATE)
  ratePerSecond?: number;
}

export class FairQueuesLimitsDto {
  @ApiPropertyOptional({ type: QueueLimitsDto, description: 'the tasks queue' })
  @IsOptional()
  @ValidateNested()
  @Type(() => QueueLimitsDto)
  tasks?: QueueLimitsDto;

  @ApiPropertyOptional({ type: QueueLimitsDto, description: 'batch items on the external cluster' })
  @IsOptional()
  @ValidateNested()
  @Type(() => QueueLimitsDto)
  cluster?: QueueLimitsDto;

  @ApiPropertyOptional({ type: QueueLimitsDto, description: 'inference items on the GPU workers' })
  @IsOptional()
  @ValidateNested()
  @Type(() => QueueLimitsDto)
  inference?: QueueLimitsDto;
}

/** A tenant's own fair-share settings; what it leaves out comes from the FAIR_DEFAULT_* settings. */
export class TenantLimitsDto {
  @ApiPropertyOptional({
    minimum: MIN_WEIGHT,
    maximum: MAX_WEIGHT,
    example: 3,
    description: 'share relative to other tenants',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(MIN_WEIGHT)
  @Max(MAX_WEIGHT)
  weight?: number;

  @ApiPropertyOptional({ type: FairQueuesLimitsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => FairQueuesLimitsDto)
  queues?: FairQueuesLimitsDto;
}

class QueueLimitsViewDto {
  @ApiProperty() maxInFlight!: number;
  @ApiProperty() ratePerSecond!: number;
}

class FairQueuesLimitsViewDto {
  @ApiProperty({ type: QueueLimitsViewDto }) tasks!: QueueLimitsViewDto;
  @ApiProperty({ type: QueueLimitsViewDto }) cluster!: QueueLimitsViewDto;
  @ApiProperty({ type: QueueLimitsViewDto }) inference!: QueueLimitsViewDto;
}

class EffectiveLimitsDto {
  @ApiProperty() weight!: number;
  @ApiProperty({ type: FairQueuesLimitsViewDto }) queues!: FairQueuesLimitsViewDto;
}

export class TenantLimitsViewDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ type: TenantLimitsDto, description: "the tenant's own settings, as last PUT" }) own!: TenantLimitsDto;
  @ApiProperty({ type: EffectiveLimitsDto, description: 'what applies: its own settings, else the defaults' })
  effective!: EffectiveLimitsDto;
}
