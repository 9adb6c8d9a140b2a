import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { WORK_STATUSES } from '@baton/core';

/** OpenAPI only: the body is checked by libs/batches (parseBatchRequest), field by field, without copying 100k items. */
export class BatchPolicyDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 20, default: 3, description: 'Runs of one item, FAILED runs included' })
  maxAttempts?: number;
  @ApiPropertyOptional({
    description: 'Between status checks and between runs',
    example: { baseMs: 1000, maxMs: 60000, jitter: 'full' },
  })
  backoff?: { baseMs?: number; maxMs?: number; jitter?: 'full' | 'none' };
  @ApiPropertyOptional({ description: 'A run not finished this long after submission is cancelled and failed' })
  jobTimeoutMs?: number;
  @ApiPropertyOptional({
    description: 'A run SUBMITTED (or unknown) / RUNNING this long is stuck',
    example: { submitted: 3600000, running: null },
  })
  stuckAfterMs?: { submitted?: number | null; running?: number | null };
  @ApiPropertyOptional({ default: false, description: 'Cancel the rest after the first job fails for good' })
  failFast?: boolean;
}

export class CreateBatchDto {
  @ApiProperty({ type: 'array', items: { type: 'object' }, minItems: 1, maxItems: 100_000 })
  items!: Record<string, unknown>[];
  @ApiPropertyOptional({ maxLength: 200 })
  name?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 5 })
  priority?: number;
  @ApiPropertyOptional({ type: BatchPolicyDto })
  policy?: BatchPolicyDto;
  @ApiPropertyOptional({ description: 'Drop items whose params equal an earlier item' })
  dedupe?: boolean;
  @ApiPropertyOptional({ example: { webhook: { url: 'https://example.com/hook' }, email: ['ops@example.com'] } })
  notify?: Record<string, unknown>;
}

export class CountsDto {
  @ApiProperty() total!: number;
  @ApiProperty() queued!: number;
  @ApiProperty() running!: number;
  @ApiProperty() succeeded!: number;
  @ApiProperty() failed!: number;
  @ApiProperty() cancelled!: number;
}

export class BatchDto {
  @ApiProperty({ example: 'bat_01J…' }) id!: string;
  @ApiPropertyOptional() name!: string | null;
  @ApiProperty({ enum: WORK_STATUSES }) status!: string;
  @ApiPropertyOptional({ enum: ['all_succeeded', 'partial', 'all_failed', 'cancelled'] }) outcome?: string;
  @ApiProperty({ type: CountsDto }) counts!: CountsDto;
  @ApiProperty() priority!: number;
  @ApiProperty({ type: BatchPolicyDto }) policy!: BatchPolicyDto;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional() startedAt?: string;
  @ApiPropertyOptional() finishedAt?: string;
}

export class BatchJobDto {
  @ApiProperty({ example: 'job_01J…' }) id!: string;
  @ApiProperty() index!: number;
  @ApiProperty({ type: 'object', additionalProperties: true }) params!: Record<string, unknown>;
  @ApiProperty({ enum: WORK_STATUSES }) status!: string;
  @ApiPropertyOptional() clusterJobId?: string;
  @ApiProperty() attempts!: number;
  @ApiPropertyOptional({ example: { code: 'cluster_failed', message: 'exit 1', attempt: 3, at: '…' } })
  lastError?: Record<string, unknown>;
  @ApiPropertyOptional() submittedAt?: string;
  @ApiPropertyOptional() startedAt?: string;
  @ApiPropertyOptional() finishedAt?: string;
}
