/**
 * Fair sharing between tenants: the rules, free of Redis. The dispatcher itself is a Lua script (fair.scripts.ts)
 * that applies them atomically; these functions are what it is checked against and what the API validates with.
 */

/** Queues whose capacity is shared between tenants by the fair dispatcher. */
export const FAIR_QUEUE_NAMES = ['tasks', 'cluster', 'inference'] as const;
export type FairQueueName = (typeof FAIR_QUEUE_NAMES)[number];

/** A tenant's own settings; anything left out comes from the defaults in configuration. */
export interface TenantLimits {
  /** Share of each queue's capacity relative to other tenants with waiting work (1 = one share). */
  weight?: number;
  /** Per queue: most jobs admitted and not finished at once (0 = no limit), most admissions per second (0 = none). */
  queues?: Partial<Record<FairQueueName, { maxInFlight?: number; ratePerSecond?: number }>>;
}

export interface FairDefaults {
  weight: number;
  maxInFlight: number;
  ratePerSecond: number;
}

export interface EffectiveLimits {
  weight: number;
  queues: Record<FairQueueName, { maxInFlight: number; ratePerSecond: number }>;
}

export const MAX_WEIGHT = 1000;
export const MIN_WEIGHT = 0.01;
export const MAX_TENANT_IN_FLIGHT = 1_000_000;
export const MAX_TENANT_RATE = 1_000_000;

/** A tenant's settings as they apply: its own where set, the defaults elsewhere. */
export function effectiveLimits(own: TenantLimits, defaults: FairDefaults): EffectiveLimits {
  const queues = {} as EffectiveLimits['queues'];
  for (const q of FAIR_QUEUE_NAMES) {
    queues[q] = {
      maxInFlight: own.queues?.[q]?.maxInFlight ?? defaults.maxInFlight,
      ratePerSecond: own.queues?.[q]?.ratePerSecond ?? defaults.ratePerSecond,
    };
  }
  return { weight: own.weight ?? defaults.weight, queues };
}

/**
 * Where a job stands in its tenant's lane: lower runs first. Priority (1 high … 10 low) weighs as `agingMs` of waiting
 * per level, so a job waiting that much longer than a job one level above it goes first: a steady stream of urgent
 * work delays a low-priority job by at most (its level - 1) × agingMs, never forever.
 */
export function laneScore(priority: number, readyAtMs: number, agingMs: number): number {
  return readyAtMs + Math.max(0, priority - 1) * agingMs;
}

/**
 * Virtual time a pick costs a tenant: 1/weight. Tenants with waiting work are served in order of their virtual time,
 * so over any stretch where both wait, a tenant of weight 3 is picked three times as often as one of weight 1.
 */
export function virtualCost(weight: number): number {
  return 1 / Math.max(MIN_WEIGHT, weight);
}

/**
 * Admission window of a queue whose capacity is its workers' concurrency: by default twice what they can run at once,
 * so workers never idle while a pick is under way, and a newcomer waits behind at most one window of other tenants'
 * jobs. Short jobs need more room (TASKS_WINDOW_FACTOR in libs/runtime).
 */
export function workerWindow(concurrencies: number[], factor = 2): number {
  return concurrencies.reduce((a, b) => a + b, 0) * factor;
}

/**
 * The priority a job waits at in its lane when it is put back (a task's retry, the audit re-laning an orphan): a task
 * carries its own in its data, since admitted tasks have no BullMQ priority (TaskQueue); other jobs keep BullMQ's.
 */
export const lanePriority = (job: { data: unknown; opts: { priority?: number } }): number =>
  (job.data as { priority?: number } | undefined)?.priority ?? job.opts.priority ?? 5;
