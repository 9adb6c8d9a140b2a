/** Every BullMQ queue Baton runs. Producers and consumers share this list and nothing else. */
export const QUEUES = {
  tasks: 'tasks',
  /** Batch parents (the roll-up) and their feeders. */
  batches: 'batches',
  /** One step job per batch item: submit to the external cluster, then check on it until it ends. */
  cluster: 'cluster',
  maintenance: 'maintenance',
  notifications: 'notifications',
  schedules: 'schedules',
  /** One job per inference item; the GPU worker gathers them into micro-batches. */
  inference: 'inference',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const ALL_QUEUES: readonly QueueName[] = Object.values(QUEUES);
/** Queues only the GPU worker consumes (apps/gpu-worker); `WORKER_QUEUES=all` of apps/worker leaves them out. */
export const GPU_QUEUES: readonly QueueName[] = [QUEUES.inference];

/**
 * Holds one "seal" child per batch parent while the feeder adds the items, so the parent cannot run before the last
 * item is in. No worker consumes it; the feeder removes the seal when it is done.
 */
export const BATCH_SEAL_QUEUE = 'batch-seal';
