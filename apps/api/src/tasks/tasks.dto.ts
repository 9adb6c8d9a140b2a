import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsISO8601, IsObject, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import type { CreateTaskInput } from '@baton/tasks';

const WEEK_MS = 7 * 24 * 3600 * 1000;
const YEAR_MS = 366 * 24 * 3600 * 1000;
const HANDLER_MAX_LENGTH = 64;
/** The integer fields' bounds, read by the decorators, the OpenAPI document and quickTaskBody alike. */
const BOUNDS = {
  priority: [1, 10],
  delayMs: [0, YEAR_MS],
  maxAttempts: [1, 20],
  timeoutMs: [1, WEEK_MS],
} as const;

export class CreateTaskDto implements CreateTaskInput {
  @ApiProperty({
    description: 'Built-in handler: noop, sleep ({ms, steps?}) or http ({url, method?, headers?, body?, timeoutMs?})',
    example: 'sleep',
  })
  @IsString()
  @Length(1, HANDLER_MAX_LENGTH)
  handler!: string;

  @ApiPropertyOptional({ description: 'Handler input (any JSON)', example: { ms: 1000 } })
  @IsOptional()
  @IsDefined()
  payload?: unknown;

  @ApiPropertyOptional({
    minimum: BOUNDS.priority[0],
    maximum: BOUNDS.priority[1],
    default: 5,
    description: '1 high … 10 low',
  })
  @IsOptional()
  @IsInt()
  @Min(BOUNDS.priority[0])
  @Max(BOUNDS.priority[1])
  priority?: number;

  @ApiPropertyOptional({ format: 'date-time', description: 'Run no earlier than this (UTC); not with delayMs' })
  @IsOptional()
  @IsISO8601({ strict: true })
  runAt?: string;

  @ApiPropertyOptional({
    minimum: BOUNDS.delayMs[0],
    maximum: BOUNDS.delayMs[1],
    description: 'Run after this many ms; not with runAt',
  })
  @IsOptional()
  @IsInt()
  @Min(BOUNDS.delayMs[0])
  @Max(BOUNDS.delayMs[1])
  delayMs?: number;

  @ApiPropertyOptional({ minimum: BOUNDS.maxAttempts[0], maximum: BOUNDS.maxAttempts[1], default: 3 })
  @IsOptional()
  @IsInt()
  @Min(BOUNDS.maxAttempts[0])
  @Max(BOUNDS.maxAttempts[1])
  maxAttempts?: number;

  @ApiPropertyOptional({
    minimum: BOUNDS.timeoutMs[0],
    maximum: BOUNDS.timeoutMs[1],
    description: 'Each attempt is aborted after this many ms and retried',
  })
  @IsOptional()
  @IsInt()
  @Min(BOUNDS.timeoutMs[0])
  @Max(BOUNDS.timeoutMs[1])
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

/** The integer fields a body may carry and still take quickTaskBody's path (a Map: no inherited keys). */
const QUICK_INTEGERS = new Map<string, readonly [number, number]>(Object.entries(BOUNDS));

/**
 * A `POST /v1/tasks` body that is plainly valid, as the DTO it would become, without class-validator: a handler name
 * of 1–64 characters, any payload, and integer fields within their bounds, nothing else. Anything else (a date, a
 * dedupe key, a notify block, an unknown field, a bad value) gives undefined, and the caller checks the body the full
 * way, which names what is wrong. class-validator cost some 7% of the API's CPU per task; this, almost nothing. Every
 * body this accepts, class-validator accepts as the same DTO (tasks.dto.spec.ts checks it against many bodies).
 */
export function quickTaskBody(body: unknown): CreateTaskDto | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  const { handler } = fields;
  // class-validator's Length counts a surrogate pair as one character: 1–64 UTF-16 units are 1–64 for it too.
  if (typeof handler !== 'string' || handler.length === 0 || handler.length > HANDLER_MAX_LENGTH) return undefined;
  for (const key of Object.keys(fields)) {
    if (key === 'handler' || key === 'payload') continue;
    const bounds = QUICK_INTEGERS.get(key);
    const value = fields[key];
    if (!bounds || typeof value !== 'number' || !Number.isInteger(value)) return undefined;
    if (value < bounds[0] || value > bounds[1]) return undefined;
  }
  return Object.assign(new CreateTaskDto(), fields);
}
