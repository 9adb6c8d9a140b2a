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
  /** A schedule's fire time came (job schedulers) or a resumed schedule catches up. */
  'schedule.fire': TraceIds & { scheduleId: string; tenantId: string };
  /** Settles runs whose target finished, re-dispatches runs a crash left pending, watches deadlines. */
  'schedule.sweep': TraceIds;
  /** Re-asserts every active schedule's job scheduler (after a Redis flush or failover). */
  'schedule.reconcile': TraceIds;
  /** Backlog and stuck-job alerts. */
  'alerts.watch': TraceIds;
}
export type JobName = keyof JobPayloads;

/** The queue each job runs on. */
export const JOB_QUEUE: { readonly [K in JobName]: QueueName } = {
  'task.run': QUEUES.tasks,
  'maintenance.reconcile': QUEUES.maintenance,
  'maintenance.purge': QUEUES.maintenance,
  'schedule.fire': QUEUES.schedules,
  'schedule.sweep': QUEUES.schedules,
  'schedule.reconcile': QUEUES.schedules,
  'alerts.watch': QUEUES.schedules,
};

export const JOB_NAMES = Object.keys(JOB_QUEUE) as JobName[];
