import type { Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { BATCH_SEAL_QUEUE, QUEUES } from '@baton/contracts';
import { FairQueue } from '@baton/fairness';
import { jobPresence, type JobProducer } from '@baton/queue';
import { batchFeedJobId, batchItemJobId, batchParentJobId, batchSealJobId, type BatchRecord } from './batch.types';

const DAY_S = 86_400;
/** Infrastructure retries of one item step (Postgres, Redis, the cluster unreachable); cluster FAILED runs are not these. */
export const ITEM_STEP_ATTEMPTS = 10;
const SEAL_DELAY_MS = 7 * DAY_S * 1000;
/** Long enough for any step to start waiting; a mark nobody takes expires. */
const CALLBACK_MARK_TTL_S = 3600;

type BatchRef = Pick<BatchRecord, 'id' | 'tenantId' | 'generation' | 'priority'>;

/**
 * A batch generation in Redis: a parent roll-up job on `batches` that waits for one child per item on `cluster`,
 * plus a seal child that keeps it waiting until the feeder has added every item. Ids carry the generation, so
 * retry-failed makes a new parent and new children instead of reviving old ones.
 */
export class BatchQueue {
  constructor(
    private readonly producer: JobProducer,
    /** Fail-fast connection for the callback marks and the reconciler's checks. */
    private readonly redis: Redis | Cluster,
    /** The cluster queue's fair dispatcher; absent when FAIR_QUEUES leaves the cluster out. */
    readonly fair?: FairQueue,
  ) {}

  private callbackKey(clusterJobId: string): string {
    return `${this.producer.prefix}:cluster-callback:${clusterJobId}`;
  }

  /**
   * A callback came for this cluster job. Marked before anyone tries to wake the step, so a step that was busy (not
   * yet waiting) when the callback came finds the mark right after it starts waiting: no callback is lost to the race.
   */
  async noteCallback(clusterJobId: string): Promise<void> {
    await this.redis.set(this.callbackKey(clusterJobId), '1', 'EX', CALLBACK_MARK_TTL_S);
  }

  /** True once per callback mark. */
  async takeCallback(clusterJobId: string): Promise<boolean> {
    return (await this.redis.getdel(this.callbackKey(clusterJobId))) !== null;
  }

  /**
   * Enqueues the feeder of a generation (deduplicated by id: enqueueing twice is harmless). A repair (the reconciler
   * found the parent or feeder gone from Redis) gets an id of its own, since the first one may still be remembered.
   */
  async feed(batch: BatchRef, requestId?: string, repair?: string): Promise<void> {
    const jobId = batchFeedJobId(batch.id, batch.generation);
    await this.producer.add(
      'batch.feed',
      { batchId: batch.id, tenantId: batch.tenantId, generation: batch.generation, requestId },
      {
        jobId: repair ? `${jobId}-${repair}` : jobId,
        attempts: 20,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: DAY_S },
        removeOnFail: { age: 7 * DAY_S },
      },
    );
  }

  /** The parent and its seal, unless they exist already (a feeder resumed after a crash). */
  async ensureParent(batch: BatchRef): Promise<void> {
    const parentId = batchParentJobId(batch.id, batch.generation);
    if (await this.producer.queue(QUEUES.batches).getJob(parentId)) return;
    await this.producer.flow().add({
      name: 'batch.rollup',
      queueName: QUEUES.batches,
      data: { batchId: batch.id, tenantId: batch.tenantId, generation: batch.generation },
      opts: {
        jobId: parentId,
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: DAY_S },
        removeOnFail: { age: 7 * DAY_S },
      },
      children: [
        {
          name: 'seal',
          queueName: BATCH_SEAL_QUEUE,
          data: {},
          opts: { jobId: batchSealJobId(batch.id, batch.generation), delay: SEAL_DELAY_MS },
        },
      ],
    });
  }

  /**
   * One child per item: each ends the parent's wait for it whether it succeeds or fails for good. With fair sharing
   * on, items are added parked and wait in the tenant's lane until the dispatcher admits them to the cluster.
   */
  async addItems(batch: BatchRef, jobIds: string[]): Promise<void> {
    if (jobIds.length === 0) return;
    const parent = {
      id: batchParentJobId(batch.id, batch.generation),
      queue: `${this.producer.prefix}:${QUEUES.batches}`,
    };
    await this.producer.addBulk(
      'batch.item',
      jobIds.map((batchJobId) => ({
        payload: { batchJobId, batchId: batch.id, tenantId: batch.tenantId, generation: batch.generation },
        opts: {
          jobId: batchItemJobId(batchJobId, batch.generation),
          // Not yet submitted: in batch priority order (1 first). Once submitted, a step drops to priority 0, which
          // BullMQ serves before any prioritized job, so due status checks never queue behind a backlog of submits.
          priority: batch.priority,
          parent,
          ignoreDependencyOnFailure: true,
          attempts: ITEM_STEP_ATTEMPTS,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: { age: 7 * DAY_S },
          ...(this.fair ? FairQueue.parked() : {}),
        },
      })),
    );
    await this.fair?.enqueue(
      jobIds.map((batchJobId) => ({
        jobId: batchItemJobId(batchJobId, batch.generation),
        tenantId: batch.tenantId,
        priority: batch.priority,
      })),
    );
  }

  /**
   * Open items whose step job is not live in Redis: gone (flushed, lost with a failover), a ghost (a hash without a
   * name, left by a script that wrote a few fields after the job was deleted under it), or failed (out of step
   * attempts, or stalled too often). One pipelined round trip for the page.
   */
  async itemJobsAmiss(batch: BatchRef, jobIds: string[]): Promise<string[]> {
    const queue = this.producer.queue(QUEUES.cluster);
    const presence = await jobPresence(
      this.redis,
      queue,
      jobIds.map((id) => batchItemJobId(id, batch.generation)),
    );
    return jobIds.filter((_, i) => presence[i] !== 'present');
  }

  /**
   * Puts open items back under their parent with the same job ids (the step's client tokens come from Postgres, so
   * a re-added step never starts a second cluster job). Whatever is left under the id (a failed job, a ghost) is
   * removed first, since BullMQ would take the add for a duplicate of it; an id still locked by a worker is left to
   * that worker. Returns the ids re-added.
   */
  async readdItems(batch: BatchRef, jobIds: string[]): Promise<string[]> {
    const queue = this.producer.queue(QUEUES.cluster);
    const cleared: string[] = [];
    for (const id of jobIds) {
      // 0: locked by a worker, which ends (or fails) it on its own; a later check sees to it then.
      if ((await queue.remove(batchItemJobId(id, batch.generation), { removeChildren: false })) === 1) cleared.push(id);
    }
    await this.addItems(batch, cleared);
    return cleared;
  }

  /** Every item is in: the parent may run once the last child ends. */
  async releaseSeal(batch: BatchRef): Promise<void> {
    const seal = await this.producer.auxiliary(BATCH_SEAL_QUEUE).getJob(batchSealJobId(batch.id, batch.generation));
    await seal?.remove();
  }

  /** Runs the step of these jobs now instead of at their next check (cancel, a cluster callback). */
  async wake(jobs: { id: string; generation: number }[]): Promise<void> {
    const queue = this.producer.queue(QUEUES.cluster);
    for (let i = 0; i < jobs.length; i += 500) {
      await Promise.allSettled(
        jobs.slice(i, i + 500).map(async (j) => {
          const job: Job | undefined = await queue.getJob(batchItemJobId(j.id, j.generation));
          // promote() throws unless the job is delayed; a waiting or active one will see the news anyway.
          if (job) await job.promote();
        }),
      );
    }
  }

  /** Slows the whole cluster queue down after a 429: no item step starts before `ms` have passed. */
  async pauseFor(ms: number): Promise<void> {
    await this.producer.queue(QUEUES.cluster).rateLimit(ms);
  }
}
