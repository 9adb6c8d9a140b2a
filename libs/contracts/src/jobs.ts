import { QUEUES, type QueueName } from './queues';

/** Ids carried through every job so logs and traces join up with the request that caused it. */
export interface TraceIds {
  requestId?: string;
}

/** Each job name mapped to its payload: producers can only enqueue a known job with its payload. */
export interface JobPayloads {
  /** `priority`: the task's own (1 high … 10 low), for its lane when a retry waits for admission again. */
  'task.run': TraceIds & { taskId: string; tenantId: string; priority?: number };
  /** Puts a batch generation's items into Redis as children of its parent, page by page. */
  'batch.feed': TraceIds & { batchId: string; tenantId: string; generation: number };
  /** The parent of a batch generation: runs once every child has ended and writes the batch's outcome. */
  'batch.rollup': TraceIds & { batchId: string; tenantId: string; generation: number };
  /** One item of a batch on the cluster; a step job that lives as long as the item's cluster runs. */
  'batch.item': { batchJobId: string; batchId: string; tenantId: string; generation: number; pollBase?: number };
  'maintenance.reconcile': TraceIds;
  'maintenance.purge': TraceIds;
  /** Turns undispatched outbox rows into deliveries (a sweep; also repairs deliveries missing from Redis). */
  'notify.dispatch': TraceIds;
  'notify.reconcile': TraceIds;
  'notify.deliver': TraceIds & { deliveryId: string; tenantId?: string };
  /**
   * A fire time of a timing group came (its job scheduler fires every active member), or one schedule fires on its
   * own: a resumed or repaired schedule catching up, or a per-schedule job scheduler from before timing groups.
   */
  'schedule.fire': TraceIds & ({ timingGroup: string } | { scheduleId: string; tenantId: string });
  /** Settles runs whose target finished, re-dispatches runs a crash left pending, watches deadlines. */
  'schedule.sweep': TraceIds;
  /** Re-asserts every active schedule's job scheduler (after a Redis flush or failover). */
  'schedule.reconcile': TraceIds;
  /** Backlog and stuck-job alerts. */
  'alerts.watch': TraceIds;
  /** One item of an inference job: claimed, micro-batched with others, its result written under (job, index). */
  'inference.item': TraceIds & { jobId: string; tenantId: string; index: number };
}
export type JobName = keyof JobPayloads;

/** The queue each job runs on. */
export const JOB_QUEUE: { readonly [K in JobName]: QueueName } = {
  'task.run': QUEUES.tasks,
  'batch.feed': QUEUES.batches,
  'batch.rollup': QUEUES.batches,
  'batch.item': QUEUES.cluster,
  'maintenance.reconcile': QUEUES.maintenance,
  'maintenance.purge': QUEUES.maintenance,
  'notify.dispatch': QUEUES.notifications,
  'notify.reconcile': QUEUES.notifications,
  'notify.deliver': QUEUES.notifications,
  'schedule.fire': QUEUES.schedules,
  'schedule.sweep': QUEUES.schedules,
  'schedule.reconcile': QUEUES.schedules,
  'alerts.watch': QUEUES.schedules,
  'inference.item': QUEUES.inference,
};

export const JOB_NAMES = Object.keys(JOB_QUEUE) as JobName[];
