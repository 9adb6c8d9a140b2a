import type { Job } from 'bullmq';
import { Coalescer } from '@baton/core';
import type { JobPayloads } from '@baton/contracts';
import { PermanentJobError } from '@baton/queue';
import type { Logger } from '@baton/observability';
import { ItemInputError, type ItemError } from './inference.errors';
import type { InferenceStore } from './inference.store';
import type { InferenceSummaries } from './inference.summaries';
import { summaryVersion } from './inference.rules';
import type { InferenceJobRecord } from './inference.types';
import { MicroBatcher, type BatchRules } from './micro-batcher';
import type { ModelRegistry } from './model.registry';
import type { InferenceOutput, ModelVersion } from './model.types';
import type { SessionRunner } from './onnx.sessions';
import { postprocess } from './postprocess';
import { prepareItem, splitBatch, stackBatch, type PreparedItem } from './preprocess';

interface BatchItem extends PreparedItem {
  model: string;
  spec: ModelVersion;
}

/** What the runner reports for metrics. */
export interface InferenceObserver {
  batch(model: string, size: number, seconds: number): void;
  queueWait(model: string, seconds: number): void;
  item(model: string, status: 'succeeded' | 'failed'): void;
}

/**
 * Runs inference items from the queue: claims the item (skipping one that has ended: a repeat delivery after a
 * crash), prepares its tensor, hands it to the micro-batcher, and writes the outcome under (job, index). A bad input
 * fails its item alone and for good; a runtime failure is thrown so the queue retries it, and on the last attempt the
 * item fails with `inference_failed`.
 */
export class InferenceRunner {
  private readonly batcher: MicroBatcher<BatchItem, InferenceOutput>;
  /** Summary writes of one job close together go out once, with its latest state. */
  private readonly summaryWrites: Coalescer<InferenceJobRecord, void>;

  constructor(
    private readonly store: InferenceStore,
    private readonly summaries: InferenceSummaries,
    private readonly registry: ModelRegistry,
    private readonly sessions: SessionRunner,
    rules: BatchRules,
    private readonly log: Logger,
    private readonly observer?: InferenceObserver,
  ) {
    this.batcher = new MicroBatcher((_bucket, items) => this.runBatch(items), rules);
    this.summaryWrites = new Coalescer<InferenceJobRecord, void>(
      async (jobs) => {
        const latest = new Map<string, InferenceJobRecord>();
        for (const job of jobs) {
          const seen = latest.get(job.id);
          if (!seen || summaryVersion(job) >= summaryVersion(seen)) latest.set(job.id, job);
        }
        await Promise.all([...latest.values()].map((job) => this.summaries.put(job)));
        return jobs.map(() => undefined);
      },
      { maxBatch: 1000, maxConcurrent: 1 },
    );
  }

  /** Loads the session of every model's default version, so the first items do not pay for it. */
  async warm(): Promise<void> {
    for (const model of this.registry.list()) {
      await this.sessions.warm(model.versions[model.defaultVersion].file);
    }
  }

  async process(job: Job<JobPayloads['inference.item']>): Promise<'succeeded' | 'failed' | 'skipped'> {
    const { jobId, index } = job.data;
    const claimed = await this.store.claim(jobId, index);
    if (!claimed) return 'skipped';
    if (claimed.started) await this.publish(claimed.started);
    const { item } = claimed;
    this.observer?.queueWait(item.model, Math.max(0, (job.processedOn ?? Date.now()) - job.timestamp) / 1000);
    const spec = this.registry.version(item.model, item.version);
    if (!spec) {
      return this.failForGood(jobId, index, item.model, {
        code: 'model_unavailable',
        message: `model ${item.model} version ${item.version} is no longer served`,
        retryable: false,
      });
    }
    let prepared: PreparedItem;
    try {
      prepared = prepareItem(spec, `${item.model}@${item.version}`, item.input);
    } catch (error) {
      if (error instanceof ItemInputError) return this.failForGood(jobId, index, item.model, error.toItemError());
      throw error;
    }
    let output: InferenceOutput;
    try {
      output = await this.batcher.submit(prepared.bucket, { ...prepared, model: item.model, spec }, spec.maxBatchSize);
    } catch (error) {
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const failed: ItemError = {
          code: 'inference_failed',
          message: `inference failed on every attempt: ${(error as Error).message}`,
          retryable: true,
        };
        await this.write({ jobId, index, status: 'failed', error: failed }, item.model);
      }
      this.log.warn({ inferenceJobId: jobId, index, attempt: job.attemptsMade + 1, err: error }, 'inference failed');
      throw error;
    }
    await this.write({ jobId, index, status: 'succeeded', output }, item.model);
    return 'succeeded';
  }

  private async failForGood(jobId: string, index: number, model: string, error: ItemError): Promise<never> {
    await this.write({ jobId, index, status: 'failed', error }, model);
    throw new PermanentJobError(error.message, error.code);
  }

  private async write(outcome: Parameters<InferenceStore['complete']>[0], model: string): Promise<void> {
    const job = await this.store.complete(outcome);
    this.observer?.item(model, outcome.status);
    if (job) await this.publish(job);
  }

  private async runBatch(items: BatchItem[]): Promise<InferenceOutput[]> {
    const { spec, model } = items[0];
    const started = process.hrtime.bigint();
    const out = await this.sessions.run(spec.file, stackBatch(items));
    this.observer?.batch(model, items.length, Number(process.hrtime.bigint() - started) / 1e9);
    const parts = splitBatch(out);
    if (parts.length !== items.length) throw new Error(`model returned ${parts.length} outputs for ${items.length}`);
    return parts.map((part) => postprocess(spec.output, part));
  }

  private async publish(job: InferenceJobRecord): Promise<void> {
    await this.summaryWrites
      .submit(job)
      .catch((error: unknown) =>
        this.log.warn({ inferenceJobId: job.id, err: error }, 'inference summary not written; reads use Postgres'),
      );
  }
}
