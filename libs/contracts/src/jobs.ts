import { QUEUES, type QueueName } from './queues';

/** Ids carried through every job so logs and traces join up with the request that caused it. */
export interface TraceIds {
  requestId?: string;
}

/** Each job name mapped to its payload: producers can only enqueue a known job with its payload. */
export interface JobPayloads {
  'task.run': TraceIds & { taskId: string; tenantId: string };
  'maintenance.reconcile': TraceIds;
  'maintenance.purge': TraceIds;
}
export type JobName = keyof JobPayloads;

/** The queue each job runs on. */
export const JOB_QUEUE: { readonly [K in JobName]: QueueName } = {
  'task.run': QUEUES.tasks,
  'maintenance.reconcile': QUEUES.maintenance,
  'maintenance.purge': QUEUES.maintenance,
};

export const JOB_NAMES = Object.keys(JOB_QUEUE) as JobName[];
