import { Inject, Injectable } from '@nestjs/common';
import { QUEUES, type QueueName } from '@baton/contracts';
import { BatonError, withTimeout } from '@baton/core';
import { metrics } from '@baton/observability';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from './tokens';

const REFRESH_MS = 500;

interface Sample {
  at: number;
  backlog: number;
  error?: unknown;
}

/**
 * System backpressure, apart from per-key rate limits: when a queue's backlog (jobs due but not started) passes
 * BACKLOG_LIMIT, or Redis cannot be asked, create requests get 503 `overloaded` with a Retry-After estimated from how
 * fast the backlog drains. Counts are sampled at most every 500 ms per queue, not per request.
 */
@Injectable()
export class Backpressure {
  private readonly samples = new Map<QueueName, Sample>();
  private readonly inflight = new Map<QueueName, Promise<Sample>>();

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  async check(queue: QueueName): Promise<void> {
    const sample = await this.sample(queue);
    if (sample.error) {
      metrics.rejected.inc({ reason: 'overloaded' });
      throw new BatonError('overloaded', 'the queue store is unavailable; retry later', undefined, 5);
    }
    const { config } = this.runtime;
    const limit = queue === QUEUES.inference ? config.INFERENCE_BACKLOG_LIMIT : config.BACKLOG_LIMIT;
    if (sample.backlog <= limit) return;
    metrics.rejected.inc({ reason: 'overloaded' });
    throw new BatonError(
      'overloaded',
      `the ${queue} queue is behind (${sample.backlog} waiting); retry later`,
      undefined,
      await this.retryAfter(queue, sample.backlog - limit),
    );
  }

  private async sample(queue: QueueName): Promise<Sample> {
    const current = this.samples.get(queue);
    if (current && Date.now() - current.at < REFRESH_MS) return current;
    let pending = this.inflight.get(queue);
    if (!pending) {
      pending = this.read(queue).finally(() => this.inflight.delete(queue));
      this.inflight.set(queue, pending);
    }
    return pending;
  }

  private async read(queue: QueueName): Promise<Sample> {
    let sample: Sample;
    try {
      // BullMQ waits for a ready connection without limit; a Redis that is away must not hold the request.
      // On a fair-shared queue, jobs waiting in tenants' lanes for admission are backlog too.
      const fair = this.runtime.fair[queue as keyof Runtime['fair']];
      const [counts, laned] = await withTimeout(
        Promise.all([
          this.runtime.producer.queue(queue).getJobCounts('wait', 'prioritized'),
          fair ? fair.waitingCount() : 0,
        ]),
        1000,
        'queue count',
      );
      sample = { at: Date.now(), backlog: (counts.wait ?? 0) + (counts.prioritized ?? 0) + laned };
    } catch (error) {
      sample = { at: Date.now(), backlog: 0, error };
    }
    this.samples.set(queue, sample);
    return sample;
  }

  /** Seconds for the excess to drain at the last minute's completion rate, between 1 and 300. */
  private async retryAfter(queue: QueueName, excess: number): Promise<number> {
    try {
      const { data } = await withTimeout(
        this.runtime.producer.queue(queue).getMetrics('completed', 0, 1),
        1000,
        'queue metrics',
      );
      const perSecond = (data[0] ?? 0) / 60;
      return Math.min(300, Math.max(1, Math.ceil(excess / Math.max(perSecond, 1))));
    } catch {
      return 30;
    }
  }
}
