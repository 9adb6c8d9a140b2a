import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsOptional, IsString, Length } from 'class-validator';
import { EVENT_TYPES, type CreateSubscriptionInput } from '@baton/notifications';
import { PageQueryDto } from '../common/page-query.dto';

/** Shapes are checked by the notification rules, which name each bad field (e.g. `webhook.url`, `events[1]`). */
export class CreateSubscriptionDto implements CreateSubscriptionInput {
  @ApiPropertyOptional({
    type: [String],
    enum: EVENT_TYPES,
    description: 'Event types to receive; omitted or empty: every type',
  })
  @Allow()
  events?: unknown;

  @ApiPropertyOptional({
    description: '{ "url": "https://…", "secret"?: "whsec_…" } — a secret is generated when omitted',
    example: { url: 'https://example.com/hooks/baton' },
  })
  @Allow()
  webhook?: unknown;

  @ApiPropertyOptional({ type: [String], description: 'Mailboxes (1–20); not with webhook' })
  @Allow()
  email?: unknown;
}

export class SubscriptionDto {
  @ApiProperty({ example: 'sub_01jd3x…' }) id!: string;
  @ApiProperty({ type: [String], description: 'empty: every type' }) events!: string[];
  @ApiProperty({ enum: ['webhook', 'email'] }) channel!: string;
  @ApiPropertyOptional() url?: string;
  @ApiPropertyOptional({ type: [String] }) email?: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SubscriptionCreatedDto extends SubscriptionDto {
  @ApiPropertyOptional({ description: 'whsec_ signing secret: shown in this answer only' }) secret?: string;
}

export class DeliveriesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'the object the events are about (bat_…, tsk_…, inf_…, run_…, alr_…)' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  subject?: string;
}

export class DeliveryDto {
  @ApiProperty({ example: 'dlv_01jd3x…' }) id!: string;
  @ApiProperty({ description: 'the event id: the webhook-id header of every attempt' }) eventId!: string;
  @ApiProperty({ enum: EVENT_TYPES }) type!: string;
  @ApiProperty({ example: { type: 'task', id: 'tsk_01jd3x…' } }) subject!: { type: string; id: string };
  @ApiProperty({ enum: ['webhook', 'email'] }) channel!: string;
  @ApiProperty({ description: 'URL (without query or credentials) or mailbox' }) target!: string;
  @ApiPropertyOptional() subscriptionId?: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed', 'cancelled'] }) status!: string;
  @ApiProperty() attempts!: number;
  @ApiPropertyOptional({ description: 'HTTP status or SMTP reply code of the last attempt' }) lastStatusCode?: number;
  @ApiPropertyOptional() lastError?: string;
  @ApiPropertyOptional({ description: 'the start of the last reply body' }) lastResponse?: string;
  @ApiPropertyOptional({ format: 'date-time' }) nextRetryAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) deliveredAt?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
