import type { Queue } from 'bullmq';
import { metrics, type Logger } from '@baton/observability';
import type { BatchQueue } from './batch.queue';
import type { BatchStore } from './batch.store';
import { batchFeedJobId, batchParentJobId } from './batch.types';

const PAGE = 200;

export interface BatchReconcileReport {
  scanned: number;
  refed: number;
}

/**
 * Postgres is the truth for batches too. An open batch whose feeder never finished must have a feeder job; a fed one
 * must have its parent. When Redis lost them (a crash between commit and enqueue, a flush, a failover to an empty
 * replica), the feeder runs again: it re-creates the parent and re-adds every open item (existing children are
 * deduplicated by id), so the batch finishes without anyone resubmitting it.
 */
export class BatchReconciler {
  constructor(
    private readonly store: BatchStore,
    private readonly batchQueue: BatchQueue,
    private readonly queues: { batches: Queue },
    private readonly log: Logger,
  ) {}

  async run(graceMs: number, now = new Date()): Promise<BatchReconcileReport> {
    const report: BatchReconcileReport = { scanned: 0, refed: 0 };
    const cutoff = new Date(now.getTime() - graceMs);
    let after: string | undefined;
    for (;;) {
      const open = await this.store.open(cutoff, after, PAGE);
      if (open.length === 0) break;
      report.scanned += open.length;
      after = open[open.length - 1].id;
      for (const batch of open) {
        const feedState = await this.queues.batches.getJobState(batchFeedJobId(batch.id, batch.generation));
        if (feedState === 'active' || feedState === 'waiting' || feedState === 'delayed') continue;
        const parentState = await this.queues.batches.getJobState(batchParentJobId(batch.id, batch.generation));
        const lost =
          batch.fedAt === null ? feedState === 'unknown' || feedState === 'failed' : parentState === 'unknown';
        if (!lost) continue;
        await this.batchQueue.feed(batch, undefined, `repair-${now.getTime()}`);
        report.refed++;
        metrics.reconciled.inc({ kind: 'batch' });
      }
    }
    if (report.refed > 0) this.log.warn(report, 'reconciler restarted batch feeders missing from Redis');
    return report;
  }
}
