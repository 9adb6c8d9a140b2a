/** Every BullMQ queue Baton runs. Producers and consumers share this list and nothing else. */
export const QUEUES = {
  tasks: 'tasks',
  maintenance: 'maintenance',
  schedules: 'schedules',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);
