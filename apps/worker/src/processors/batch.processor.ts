import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Job } from 'bullmq';
import {
  BatchFeeder,
  BatchItemRunner,
  MeteredClusterClient,
  openGate,
  RedisSubmitGate,
  type SubmitGate,
} from '@baton/batches';
import { HttpClusterClient, startSimulator, type RunningSimulator } from '@baton/cluster';
import type { JobPayloads } from '@baton/contracts';
import { JobHandler } from '@baton/queue';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../tokens';

/** Batches: the feeder and roll-up (queue `batches`) and the item steps against the cluster (queue `cluster`). */
@Injectable()
export class BatchProcessor implements OnModuleInit, OnModuleDestroy {
  readonly feeder: BatchFeeder;
  private runner?: BatchItemRunner;
  private simulator?: RunningSimulator;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    this.feeder = new BatchFeeder(runtime.stores.batches, runtime.batchQueue, runtime.log);
  }

  async onModuleInit(): Promise<void> {
    const { config, log, stores, batchQueue, redis } = this.runtime;
    let url = config.CLUSTER_URL;
    if (!url) {
      // No cluster configured: batches still run end to end, on a simulator inside this process, and the log says so.
      this.simulator = await startSimulator();
      url = this.simulator.url;
      log.warn({ clusterUrl: url }, 'CLUSTER_URL is not set: batch items run on a built-in cluster simulator');
    }
    const cluster = new MeteredClusterClient(
      new HttpClusterClient({ baseUrl: url, timeoutMs: config.CLUSTER_TIMEOUT_MS }),
    );
    const gate: SubmitGate =
      config.CLUSTER_SUBMIT_RATE > 0
        ? new RedisSubmitGate(redis, `${config.QUEUE_PREFIX}:cluster-submit-gate`, config.CLUSTER_SUBMIT_RATE)
        : openGate;
    this.runner = new BatchItemRunner(
      stores.batches,
      batchQueue,
      cluster,
      gate,
      log,
      config.CLUSTER_CALLBACK_SECRET !== '',
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.simulator?.close();
  }

  @JobHandler('batch.feed')
  feed(job: Job<JobPayloads['batch.feed']>): Promise<unknown> {
    return this.feeder.feed(job);
  }

  @JobHandler('batch.rollup')
  rollup(job: Job<JobPayloads['batch.rollup']>, token?: string): Promise<unknown> {
    return this.feeder.rollup(job, token);
  }

  @JobHandler('batch.item')
  item(job: Job<JobPayloads['batch.item']>, token?: string): Promise<unknown> {
    return this.runner!.process(job, token);
  }
}
