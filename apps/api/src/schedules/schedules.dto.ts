import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString } from 'class-validator';
import type { ScheduleInput } from '@baton/schedules';

/**
 * POST /v1/schedules and PATCH /v1/schedules/:id (a merge: null clears an optional field). Fields are listed here so
 * that unknown ones are refused; their values are checked by the schedule rules (libs/schedules, libs/scheduling),
 * which name every bad field, the target's fields as `target.…`.
 */
export class ScheduleBodyDto implements ScheduleInput {
  @ApiProperty({ example: 'weekly report' }) @Allow() name?: unknown;
  @ApiPropertyOptional({
    description: "Where its runs' schedule.run.completed events go (an addition to API.md)",
    example: { webhook: { url: 'https://example.com/hooks/baton' } },
  })
  @Allow()
  notify?: unknown;
  @ApiPropertyOptional({ description: '5 or 6 fields (seconds first); with timezone', example: '0 0 * * 0' })
  @Allow()
  cron?: unknown;
  @ApiPropertyOptional({ description: 'IANA zone, default UTC', example: 'Europe/Berlin' }) @Allow() timezone?: unknown;
  @ApiPropertyOptional({ description: 'fixed rate in ms (at least SCHEDULE_MIN_EVERY_MS)' }) @Allow() everyMs?: unknown;
  @ApiPropertyOptional({ format: 'date-time', description: 'one-off' }) @Allow() runAt?: unknown;
  @ApiPropertyOptional({ format: 'date-time' }) @Allow() startAt?: unknown;
  @ApiPropertyOptional({ format: 'date-time' }) @Allow() endAt?: unknown;
  @ApiProperty({
    description: '{"type": "task"|"batch"|"inference", ...the body its create endpoint takes}',
    example: { type: 'task', handler: 'sleep', payload: { ms: 1000 } },
  })
  @Allow()
  target?: unknown;
  @ApiPropertyOptional({ enum: ['allow', 'skip', 'cancel_previous'], default: 'skip' }) @Allow() overlap?: unknown;
  @ApiPropertyOptional({ description: '{"policy": "none"|"latest"|"all", "maxRuns"?: 1–1000 (default 10)}' })
  @Allow()
  catchUp?: unknown;
  @ApiPropertyOptional({ description: '{"withinMs"}: each run must succeed this long after its scheduled time' })
  @Allow()
  deadline?: unknown;
  @ApiPropertyOptional({ description: 'how long a run usually takes (deadline predictions)' })
  @Allow()
  expectedDurationMs?: unknown;
  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 5 }) @Allow() priority?: unknown;
  @ApiPropertyOptional({ default: false }) @Allow() paused?: unknown;
}

export class UpcomingQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 10 })
  @IsOptional()
  @IsString()
  count?: string;
}

export class AlertsQueryDto {
  @ApiPropertyOptional({ enum: ['open', 'resolved', 'all'], default: 'all' })
  @IsOptional()
  @IsIn(['open', 'resolved', 'all'])
  state?: 'open' | 'resolved' | 'all';

  @ApiPropertyOptional({ enum: ['deadline_at_risk', 'deadline_missed', 'backlog', 'stuck_jobs', 'delivery_failing'] })
  @IsOptional()
  @IsIn(['deadline_at_risk', 'deadline_missed', 'backlog', 'stuck_jobs', 'delivery_failing'])
  kind?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @IsString()
  limit?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  cursor?: string;
}
