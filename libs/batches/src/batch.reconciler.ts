import type { Queue } from 'bullmq';
import { isTerminal } from '@baton/core';
import { metrics, type Logger } from '@baton/observability';
import type { BatchQueue } from './batch.queue';
import type { BatchStore } from './batch.store';
import { batchFeedJobId, batchParentJobId, type BatchRecord } from './batch.types';

const PAGE = 200;
/** Open items checked against Redis per round trip. */
const ITEM_PAGE = 1_000;

export interface BatchReconcileReport {
  scanned: number;
  refed: number;
  /** Open items whose step job was missing from Redis or had failed there, put back under their parent. */
  itemsRepaired: number;
  /**
   * Roll-ups run again: those that had failed in BullMQ (e.g. Postgres down through all their attempts), and those of
   * batches whose items all ended with no roll-up under way.
   */
  rollupsRetried: number;
}

/**
 * Postgres is the truth for batches too. An open batch whose feeder never finished must have a feeder job; a fed one
 * must have its parent, and each of its open items a live step job. When Redis lost them (a crash between commit and
 * enqueue, a flush, a failover to an empty replica), they are put back:
 * - no feeder or no parent: the feeder runs again; it re-creates the parent and re-adds every open item (existing
 *   children are deduplicated by id), so the batch finishes without anyone resubmitting it;
 * - a parent waiting on children, but open items without a step job, or with a failed one (a worker still stepping
 *   the old jobs when Redis was flushed under it loses them, or fails them for stalling): those items are re-added
 *   under the parent with the same ids. Their client tokens come from the attempts in Postgres, so no second cluster
 *   job starts, and the parent no longer waits forever.
 * Items are only checked for a batch seen for the first time or whose counts did not move since the last run: a batch
 * that progresses needs no repair, and a large one is not scanned every interval.
 */
export class BatchReconciler {
  /** Counts of each open batch at the last run, to tell a batch that progresses from one that is stuck. */
  private lastCounts = new Map<string, string>();

  constructor(
    private readonly store: BatchStore,
    private readonly batchQueue: BatchQueue,
    private readonly queues: { batches: Queue; cluster: Queue },
    private readonly log: Logger,
  ) {}

  async run(graceMs: number, now = new Date()): Promise<BatchReconcileReport> {
    const report: BatchReconcileReport = { scanned: 0, refed: 0, itemsRepaired: 0, rollupsRetried: 0 };
    const cutoff = new Date(now.getTime() - graceMs);
    const seen = new Map<string, string>();
    let after: string | undefined;
    for (;;) {
      const open = await this.store.open(cutoff, after, PAGE);
      if (open.length === 0) break;
      report.scanned += open.length;
      after = open[open.length - 1].id;
      for (const batch of open) {
        const signature = `${batch.generation}:${JSON.stringify(batch.counts)}`;
        seen.set(batch.id, signature);
        const stalled = this.lastCounts.get(batch.id) ?? signature;
        await this.reconcile(batch, stalled === signature, now, report);
      }
    }
    this.lastCounts = seen;
    if (report.refed + report.itemsRepaired + report.rollupsRetried > 0) {
      this.log.warn(report, 'reconciler repaired batches missing from Redis');
    }
    return report;
  }

  private async reconcile(
    batch: BatchRecord,
    stalled: boolean,
    now: Date,
    report: BatchReconcileReport,
  ): Promise<void> {
    const feedState = await this.queues.batches.getJobState(batchFeedJobId(batch.id, batch.generation));
    if (feedState === 'active' || feedState === 'waiting' || feedState === 'delayed') return;
    const parentId = batchParentJobId(batch.id, batch.generation);
    const parentState = await this.queues.batches.getJobState(parentId);
    if (batch.fedAt !== null && batch.counts.queued + batch.counts.running === 0 && !rollupUnderWay(parentState)) {
      // Every item ended, and no roll-up is under way to say so: its job is gone, or ended without writing the
      // outcome (a parent lost to a flush leaves a hash the feeder takes for it). Rolled up here; the outcome check and
      // the event's dedup key keep it to one completion, whoever gets there first.
      await this.store.rollup(batch.id, batch.generation);
      report.rollupsRetried++;
      metrics.reconciled.inc({ kind: 'batch' });
      return;
    }
    const lost = batch.fedAt === null ? feedState === 'unknown' || feedState === 'failed' : parentState === 'unknown';
    if (lost) {
      await this.batchQueue.feed(batch, undefined, `repair-${now.getTime()}`);
      report.refed++;
      metrics.reconciled.inc({ kind: 'batch' });
      return;
    }
    if (batch.fedAt === null) return;
    if (parentState === 'failed') {
      await (await this.queues.batches.getJob(parentId))?.retry('failed');
      report.rollupsRetried++;
      metrics.reconciled.inc({ kind: 'batch' });
      return;
    }
    if (parentState === 'waiting-children' && stalled) report.itemsRepaired += await this.repairItems(batch);
  }

  /** Re-adds the open items (per Postgres) whose step job is gone from Redis, a ghost, or failed there. */
  private async repairItems(batch: BatchRecord): Promise<number> {
    let repaired = 0;
    let cursor = -1;
    for (;;) {
      const page = await this.store.feedPage(batch.id, batch.generation, cursor, ITEM_PAGE);
      if (page.length === 0) break;
      cursor = page[page.length - 1].index;
      const amiss = await this.batchQueue.itemJobsAmiss(
        batch,
        page.map((j) => j.id),
      );
      const lost = await stillOpen(this.store, batch, amiss);
      if (lost.length === 0) continue;
      const readded = await this.batchQueue.readdItems(batch, lost);
      repaired += readded.length;
      metrics.reconciled.inc({ kind: 'batch' }, readded.length);
      this.log.warn(
        { batchId: batch.id, tenantId: batch.tenantId, generation: batch.generation, items: readded },
        'batch items without a live step job re-added',
      );
    }
    return repaired;
  }
}

/**
 * The items of `ids` still open in this generation. Steps end an item in Postgres before its job leaves Redis, so an
 * item found without a live job and still open afterwards really lost its job (it did not just finish).
 */
export async function stillOpen(
  store: Pick<BatchStore, 'loadItem'>,
  batch: Pick<BatchRecord, 'generation'>,
  ids: string[],
): Promise<string[]> {
  const items = await Promise.all(ids.map((id) => store.loadItem(id)));
  return ids.filter((_, i) => {
    const item = items[i];
    return item !== null && !isTerminal(item.job.status) && item.job.generation === batch.generation;
  });
}

/** The parent is still to run, running, or failed (retried above): its roll-up will write the outcome. */
const rollupUnderWay = (state: string): boolean =>
  state === 'waiting-children' ||
  state === 'waiting' ||
  state === 'prioritized' ||
  state === 'active' ||
  state === 'delayed' ||
  state === 'failed';
