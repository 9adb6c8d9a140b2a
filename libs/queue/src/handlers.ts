import 'reflect-metadata';
import type { Job } from 'bullmq';
import { JOB_NAMES, JOB_QUEUE, type JobName, type JobPayloads, type QueueName } from '@baton/contracts';

export type JobHandlerFn<N extends JobName> = (job: Job<JobPayloads[N]>) => Promise<unknown>;

const HANDLER_KEY = Symbol('baton:job-handler');

interface HandlerEntry {
  name: JobName;
  property: string | symbol;
}

/** Marks a method as the handler of one job name. Checked at boot by `collectHandlers`. */
export function JobHandler(name: JobName): MethodDecorator {
  return (target, property) => {
    const list = (Reflect.getMetadata(HANDLER_KEY, target) ?? []) as HandlerEntry[];
    Reflect.defineMetadata(HANDLER_KEY, [...list, { name, property }], target);
  };
}

/** A job's handler; `token` is the worker's lock token, for handlers that move their job (e.g. back to delayed). */
export type HandlerMap = Map<JobName, (job: Job, token?: string) => Promise<unknown>>;

/**
 * Collects decorated handlers from `instances` and checks them against the contract for the queues this process
 * consumes: a job name with no handler, or with two, stops the process at start-up.
 */
export function collectHandlers(instances: object[], queues: readonly QueueName[]): HandlerMap {
  const map: HandlerMap = new Map();
  for (const instance of instances) {
    const list = (Reflect.getMetadata(HANDLER_KEY, Object.getPrototypeOf(instance) as object) ?? []) as HandlerEntry[];
    for (const { name, property } of list) {
      if (map.has(name)) throw new Error(`job ${name} has two handlers`);
      const method = (instance as Record<string | symbol, (job: Job, token?: string) => Promise<unknown>>)[property];
      map.set(name, method.bind(instance));
    }
  }
  const missing = JOB_NAMES.filter((name) => queues.includes(JOB_QUEUE[name]) && !map.has(name));
  if (missing.length > 0) throw new Error(`no handler for job(s): ${missing.join(', ')}`);
  return map;
}
