import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsISO8601, IsObject, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import type { CreateTaskInput } from '@baton/tasks';

const WEEK_MS = 7 * 24 * 3600 * 1000;
const YEAR_MS = 366 * 24 * 3600 * 1000;

export class CreateTaskDto implements CreateTaskInput {
  @ApiProperty({
    description: 'Built-in handler: noop, sleep ({ms, steps?}) or http ({url, method?, headers?, body?, timeoutMs?})',
    example: 'sleep',
  })
  @IsString()
  @Length(1, 64)
  handler!: string;

  @ApiPropertyOptional({ description: 'Handler input (any JSON)', example: { ms: 1000 } })
  @IsOptional()
  @IsDefined()
  payload?: unknown;

  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 5, description: '1 high … 10 low' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  priority?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Run no earlier than this (UTC); not with delayMs' })
  @IsOptional()
  @IsISO8601({ strict: true })
  runAt?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: YEAR_MS, description: 'Run after this many ms; not with runAt' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(YEAR_MS)
  delayMs?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 20, default: 3 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  maxAttempts?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: WEEK_MS,
    description: 'Each attempt is aborted after this many ms and retried',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(WEEK_MS)
  timeoutMs?: number;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'When the task must have finished (alerts come with schedules)',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  deadlineAt?: string;

  @ApiPropertyOptional({
    description: 'A second task with the same key in this tenant returns the first',
    maxLength: 255,
  })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  dedupeKey?: string;

  @ApiPropertyOptional({
    description:
      'Where to announce completion (task.completed): { webhook?: {url, secret?: "whsec_…"}, email?: [addr] }; ' +
      'a webhook secret is generated and shown once when omitted',
  })
  @IsOptional()
  @IsObject()
  notify?: Record<string, unknown>;
}

export class TaskDto {
  @ApiProperty({ example: 'tsk_01jd3x…' }) id!: string;
  @ApiProperty() handler!: string;
  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty({ minimum: 0, maximum: 100 }) progress!: number;
  @ApiPropertyOptional() payload?: unknown;
  @ApiPropertyOptional() result?: unknown;
  @ApiPropertyOptional({ description: '{code, message, retryable, attempt}' }) lastError?: unknown;
  @ApiProperty() attempts!: number;
  @ApiProperty() maxAttempts!: number;
  @ApiProperty() priority!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) runAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) startedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) deadlineAt?: string;
  @ApiPropertyOptional() dedupeKey?: string;
  @ApiPropertyOptional({
    description: 'whsec_ secret generated for notify.webhook when none was given: in the create answer only',
  })
  webhookSecret?: string;
}
