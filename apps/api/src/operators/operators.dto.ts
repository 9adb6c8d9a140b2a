import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { WORK_STATUSES } from '@baton/core';
import { TenantPageQueryDto } from '../common/page-query.dto';

/** Kinds of work whose history /v1/jobs lists (inference jobs join as they land). */
export const JOB_KINDS = ['task', 'batch_job', 'inference_job'] as const;
export const DEAD_LETTER_KINDS = ['task', 'batch_job', 'inference_item', 'delivery'] as const;

export class JobsQueryDto extends TenantPageQueryDto {
  @ApiPropertyOptional({ enum: WORK_STATUSES })
  @IsOptional()
  @IsIn(WORK_STATUSES)
  status?: string;

  @ApiPropertyOptional({ enum: JOB_KINDS })
  @IsOptional()
  @IsIn(JOB_KINDS)
  kind?: string;
}

export class DeadLettersQueryDto extends TenantPageQueryDto {
  @ApiPropertyOptional({ enum: DEAD_LETTER_KINDS })
  @IsOptional()
  @IsIn(DEAD_LETTER_KINDS)
  kind?: string;
}

export class QueueDto {
  @ApiProperty() name!: string;
  @ApiProperty() waiting!: number;
  @ApiProperty() active!: number;
  @ApiProperty() delayed!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() completed!: number;
  @ApiProperty() paused!: boolean;
  @ApiProperty({ description: 'age of the oldest due job not yet started' }) oldestWaitingMs!: number;
  @ApiProperty({ description: 'over the last five minutes' }) completedPerSecond!: number;
  @ApiProperty({ description: 'over the last five minutes' }) failedPerSecond!: number;
}

export class JobDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: JOB_KINDS }) kind!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: WORK_STATUSES }) status!: string;
  @ApiProperty({ description: 'handler, batch name or model' }) name!: string;
  @ApiPropertyOptional({ description: 'batch jobs: their batch' }) batchId?: string;
  @ApiPropertyOptional({ description: 'batch jobs: position in the batch' }) index?: number;
  @ApiProperty() attempts!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) startedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
  @ApiPropertyOptional() lastError?: unknown;
}
