import { DelayedError, RateLimitError, type Job } from 'bullmq';
import {
  ClusterRateLimitedError,
  ClusterRejectedError,
  isClusterError,
  type ClusterClient,
  type ClusterStatusReport,
} from '@baton/cluster';
import type { JobPayloads } from '@baton/contracts';
import { backoffDelay, isTerminal } from '@baton/core';
import { metrics, type Logger } from '@baton/observability';
import type { BatchQueue } from './batch.queue';
import { decideStep, MIN_POLL_MS, pollsSoFar, runClientToken, type RunFailure } from './batch.step';
import type { BatchStore } from './batch.store';
import type { FinalItemStatus, ItemContext, JobError } from './batch.types';
import type { SubmitGate } from './submit-gate';

/** When Postgres cannot be read or written, the step runs again this much later, without using an attempt. */
export const STORE_RETRY_MS = 2_000;
/** A 429 without Retry-After pauses the queue this long. */
const DEFAULT_RATE_LIMIT_MS = 1_000;
/**
 * What a step throws once it has moved its job to the delayed set: BullMQ only checks its type. Every item waits this
 * way once or more, and a new error's stack trace cost about 1% of the worker's CPU per item (batches bench profile).
 */
const STEP_WAITS = new DelayedError();

type ItemJob = Job<JobPayloads['batch.item']>;

const jobError = (code: string, message: string, attempt: number): JobError => ({
  code,
  message,
  attempt,
  at: new Date().toISOString(),
});

/**
 * One step of one batch item, run each time its queue job activates. Postgres holds the item's state and decides:
 * a finished item's job ends at once; otherwise the step submits a run (with a client token derived from the item,
 * generation and attempt, so a repeated submit never starts a second cluster job) or checks the run and applies
 * decideStep. Waiting is `moveToDelayed` + DelayedError, so a polling item holds no worker slot. A cluster FAILED is
 * an outcome, not a thrown error: BullMQ attempts only cover infrastructure failures.
 */
export class BatchItemRunner {
  constructor(
    private readonly store: BatchStore,
    private readonly queue: BatchQueue,
    private readonly cluster: ClusterClient,
    private readonly gate: SubmitGate,
    private readonly log: Logger,
    /** The cluster sends completion callbacks (CLUSTER_CALLBACK_SECRET is set): steps look for their marks. */
    private readonly callbacks = false,
  ) {}

  async process(job: ItemJob, token?: string): Promise<unknown> {
    let item: ItemContext | null;
    try {
      item = await this.store.loadItem(job.data.batchJobId);
    } catch (error) {
      return this.later(job, token, STORE_RETRY_MS, error);
    }
    if (!item || isTerminal(item.job.status) || item.job.generation !== job.data.generation) {
      return { skipped: 'item no longer pending in this generation' };
    }
    try {
      return await this.step(job, token, item);
    } catch (error) {
      if (error instanceof DelayedError || error instanceof RateLimitError) throw error;
      return this.onStepError(job, token, item, error);
    }
  }

  private async step(job: ItemJob, token: string | undefined, item: ItemContext): Promise<unknown> {
    const { job: row, batch } = item;
    if (batch.cancelRequested || row.cancelRequested) {
      if (row.clusterJobId) await this.cancelOnCluster(row.clusterJobId);
      await this.finish(item, 'cancelled', null);
      return { cancelled: true };
    }
    const now = new Date();
    if (!row.clusterJobId) {
      const attempt = row.attempts + 1;
      await this.gate.acquire();
      const clusterJobId = await this.cluster.submit(row.params, runClientToken(row.id, row.generation, attempt));
      await this.store.markSubmitted(row.id, attempt, clusterJobId, now);
      // From now on its steps are status checks: served ahead of items still waiting to be submitted.
      if (job.priority !== 0) await job.changePriority({ priority: 0 });
      metrics.enqueueToStart.observe({ queue: 'cluster' }, Math.max(0, now.getTime() - job.timestamp) / 1000);
      const first = Math.max(MIN_POLL_MS, backoffDelay(1, batch.policy.backoff));
      return this.later(job, token, first, undefined, clusterJobId);
    }
    const report: ClusterStatusReport = await this.cluster.status(row.clusterJobId);
    const submittedAt = row.submittedAt ?? now;
    const decision = decideStep(
      {
        attempt: row.attempts,
        submittedAt,
        runningSince: row.startedAt,
        polls: pollsSoFar(submittedAt, now, batch.policy.backoff.baseMs),
      },
      report,
      batch.policy,
      now,
    );
    switch (decision.kind) {
      case 'poll':
        if (decision.runningSince && !row.startedAt) await this.store.markClusterRunning(row.id, decision.runningSince);
        return this.later(job, token, decision.delayMs, undefined, row.clusterJobId);
      case 'succeeded':
        await this.finish(item, 'succeeded', null);
        return { ok: true };
      case 'resubmit':
        await this.runFailed(row.clusterJobId, decision.failure);
        await this.store.markRunFailed(row.id, jobError(decision.failure.code, decision.failure.message, row.attempts));
        metrics.retries.inc({ queue: 'cluster' });
        return this.later(job, token, Math.max(MIN_POLL_MS, decision.delayMs));
      case 'failed':
        await this.runFailed(row.clusterJobId, decision.failure);
        await this.finish(item, 'failed', jobError(decision.failure.code, decision.failure.message, row.attempts));
        return { failed: decision.failure.code };
    }
  }

  /** The cluster said no (4xx) or the step ran out of retries: the item fails; other errors go round again. */
  private async onStepError(job: ItemJob, token: string | undefined, item: ItemContext, error: unknown) {
    if (error instanceof ClusterRateLimitedError) {
      // The cluster is over its rate: the whole queue waits, and this job goes back without using an attempt.
      await this.queue.pauseFor(error.retryAfterMs ?? DEFAULT_RATE_LIMIT_MS);
      throw new RateLimitError();
    }
    const attempt = Math.max(1, item.job.attempts);
    const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (error instanceof ClusterRejectedError || lastTry) {
      const code = isClusterError(error) ? `cluster_${error.code}` : 'step_failed';
      const message = error instanceof Error ? error.message : String(error);
      this.log.warn(
        { batchJobId: item.job.id, batchId: job.data.batchId, tenantId: job.data.tenantId, err: error },
        'batch item failed',
      );
      await this.finish(item, 'failed', jobError(code, message, attempt));
      return { failed: code };
    }
    // Transient (5xx, timeout, Postgres): BullMQ retries the step with backoff; the client token makes it safe.
    throw error;
  }

  private async finish(item: ItemContext, status: FinalItemStatus, error: JobError | null): Promise<void> {
    const changed = await this.store.finish(item.job.id, status, error);
    if (changed) metrics.batchItems.inc({ status });
    if (changed && status === 'failed' && item.batch.policy.failFast && !item.batch.cancelRequested) {
      const result = await this.store.requestCancel(item.job.batchId, null);
      if (result) await this.queue.wake(result.running.map((id) => ({ id, generation: result.batch.generation })));
    }
  }

  private async runFailed(clusterJobId: string, failure: RunFailure): Promise<void> {
    if (failure.cancelOnCluster) await this.cancelOnCluster(clusterJobId);
  }

  /** Best effort: a cluster that cannot cancel, or does not know the id, leaves nothing more to do. */
  private async cancelOnCluster(clusterJobId: string): Promise<void> {
    if (!this.cluster.cancel) return;
    try {
      await this.cluster.cancel(clusterJobId);
    } catch (error) {
      if (error instanceof ClusterRateLimitedError || !isClusterError(error) || error.retryable) throw error;
    }
  }

  private async later(
    job: Job,
    token: string | undefined,
    delayMs: number,
    cause?: unknown,
    clusterJobId?: string,
  ): Promise<never> {
    if (!token) throw cause instanceof Error ? cause : new Error('no lock token to delay the job with');
    if (cause) this.log.warn({ jobId: job.id, err: cause }, 'batch store unavailable; the step runs again later');
    await job.moveToDelayed(Date.now() + delayMs, token);
    // A callback that came while this step was busy could not wake it: its mark does, now that the step waits.
    if (this.callbacks && clusterJobId && (await this.queue.takeCallback(clusterJobId))) {
      await job.promote().catch(() => undefined);
    }
    throw STEP_WAITS;
  }
}
