import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { JOB_QUEUE, type JobName, type JobPayloads, type QueueName } from '@baton/contracts';
import { bullmqTelemetry } from '@baton/observability';

export type EnqueueOptions = Omit<JobsOptions, 'jobId'> & { jobId: string };

/** Typed producer: only known jobs, each with its own payload, on the queue the contract names. */
export class JobProducer {
  private readonly queues = new Map<string, Queue>();
  private flows?: FlowProducer;

  constructor(
    private readonly connection: Redis | Cluster,
    readonly prefix: string,
  ) {}

  /** Flows (a parent and its children), on the same connection and prefix. */
  flow(): FlowProducer {
    this.flows ??= new FlowProducer({ connection: this.connection, prefix: this.prefix, telemetry: bullmqTelemetry() });
    return this.flows;
  }

  /** A queue outside the job contract (e.g. the batch seal queue, which no worker consumes). */
  auxiliary(name: string): Queue {
    return this.queue(name as QueueName);
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // With tracing on, each job carries the trace it was added in, and its processing continues it.
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix, telemetry: bullmqTelemetry() });
      queue.on('error', () => undefined); // connection errors surface through readiness checks, not crashes
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Adding a job id that already exists is a no-op: enqueueing twice is harmless. */
  async add<N extends JobName>(name: N, payload: JobPayloads[N], opts: EnqueueOptions): Promise<void> {
    await this.queue(JOB_QUEUE[name]).add(name, payload, opts);
  }

  async addBulk<N extends JobName>(name: N, jobs: { payload: JobPayloads[N]; opts: EnqueueOptions }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue(JOB_QUEUE[name]).addBulk(jobs.map((j) => ({ name, data: j.payload, opts: j.opts })));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows?.close();
  }
}
