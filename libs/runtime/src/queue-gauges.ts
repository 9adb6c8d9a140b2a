import type { QueueName } from '@baton/contracts';
import { withTimeout } from '@baton/core';
import { metrics } from '@baton/observability';
import { describeQueueOf, type Runtime } from './runtime';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Sets the queue depth and oldest-waiting gauges of these queues, and on fair-shared queues each tenant's waiting, in
 * flight and throughput, read from Redis at scrape time. Bounded, so a Redis that is away does not hold the scrape:
 * the gauges then keep their last values and the scrape still answers.
 */
export async function refreshQueueGauges(
  runtime: Pick<Runtime, 'producer' | 'fair'>,
  queues: readonly QueueName[],
  timeoutMs = 2000,
): Promise<void> {
  const now = Date.now();
  await withTimeout(
    Promise.all(
      queues.map(async (name) => {
        const q = await describeQueueOf(runtime, name, now);
        for (const state of STATES) metrics.queueDepth.set({ queue: name, state }, q[state]);
        metrics.queueOldestWaitingSeconds.set({ queue: name }, q.oldestWaitingMs / 1000);
        for (const t of q.tenants ?? []) {
          const labels = { queue: name, tenant: t.tenantId };
          metrics.tenantWaiting.set(labels, t.waiting);
          metrics.tenantInFlight.set(labels, t.inFlight);
          metrics.tenantThroughput.set(labels, t.perSecond);
        }
      }),
    ),
    timeoutMs,
    'queue gauges',
  ).catch(() => undefined);
}
