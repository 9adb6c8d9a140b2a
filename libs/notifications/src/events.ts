/** Every event Baton announces (API.md "Notifications"). */
export const EVENT_TYPES = [
  'batch.completed',
  'task.completed',
  'inference.completed',
  'schedule.run.completed',
  'alert.raised',
  'alert.resolved',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);

/** An outbox row as the dispatcher and the channels see it. Its id is the `webhook-id`: stable across retries. */
export interface OutboxEvent {
  id: string;
  tenantId: string | null;
  type: string;
  subjectType: string;
  subjectId: string;
  payload: unknown;
  createdAt: Date;
}

/** The body every channel describes: `{"type", "timestamp", "data"}` (API.md). */
export interface EventBody {
  type: string;
  timestamp: string;
  data: unknown;
}

export const eventBody = (event: OutboxEvent): EventBody => ({
  type: event.type,
  timestamp: event.createdAt.toISOString(),
  data: event.payload,
});
