import type { QueueName } from '@baton/contracts';
import { startMetricsServer, type MetricsServer } from '@baton/observability';
import { refreshQueueGauges } from './queue-gauges';
import type { Runtime } from './runtime';

/**
 * The metrics endpoint of a process without an API (worker, GPU worker), on `port` (0: none). Its queue gauges cover
 * the queues it consumes, so a worker dedicated to some queues reports those.
 */
export async function serveProcessMetrics(
  runtime: Pick<Runtime, 'config' | 'log' | 'producer' | 'fair'>,
  port: number,
  queues: readonly QueueName[],
): Promise<MetricsServer> {
  if (port === 0) return { close: () => Promise.resolve() };
  return startMetricsServer({
    port,
    host: runtime.config.HOST,
    log: runtime.log,
    beforeScrape: () => refreshQueueGauges(runtime, queues),
  });
}
