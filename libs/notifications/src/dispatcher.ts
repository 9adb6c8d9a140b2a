import { deleteInChunks } from '@baton/core';
import { metrics, type Logger } from '@baton/observability';
import type { DeliveryRecord, NotificationStore } from './notification.store';
import { resolveTargets } from './notify';

/** Enqueues delivery jobs (the delivery id is the job id, so enqueueing twice is harmless). */
export interface DeliveryQueue {
  enqueue(deliveries: DeliveryRecord[], now?: Date): Promise<void>;
  /** The job's state in the queue: 'unknown' when Redis holds none. */
  state(deliveryId: string): Promise<string>;
  /** Enqueues again under its id, removing a finished job Redis still holds. */
  requeue(delivery: DeliveryRecord): Promise<void>;
}

const PAGE = 200;
/** Pages one run dispatches at most; the next run goes on. */
const MAX_PAGES = 50;

/**
 * Turns outbox rows into deliveries and their jobs. Rows and deliveries are written in one transaction (see
 * NotificationStore.dispatch), so an event is dispatched once; if the process dies after the commit but before the
 * jobs are enqueued, the reconciler finds the pending deliveries that Redis does not hold and enqueues them.
 */
export class NotificationDispatcher {
  constructor(
    private readonly store: NotificationStore,
    private readonly queue: DeliveryQueue,
    private readonly log: Logger,
  ) {}

  async dispatch(): Promise<{ events: number; deliveries: number }> {
    const total = { events: 0, deliveries: 0 };
    for (let page = 0; page < MAX_PAGES; page++) {
      const { events, deliveries } = await this.store.dispatch(PAGE, (event, notify, subs) =>
        resolveTargets(event.type, notify, subs),
      );
      total.events += events;
      total.deliveries += deliveries.length;
      if (deliveries.length > 0) {
        await this.queue
          .enqueue(deliveries)
          .catch((err: unknown) =>
            this.log.warn(
              { err, deliveries: deliveries.length },
              'deliveries stored but not enqueued; the reconciler will',
            ),
          );
      }
      if (events < PAGE) break;
    }
    return total;
  }

  /** Pending deliveries due for longer than `graceMs` whose job Redis does not hold (or holds as finished) run again. */
  async reconcile(graceMs: number, now = new Date()): Promise<{ scanned: number; requeued: number }> {
    const report = { scanned: 0, requeued: 0 };
    const cutoff = new Date(now.getTime() - graceMs);
    let after: string | undefined;
    for (;;) {
      const rows = await this.store.overdue(cutoff, after, PAGE);
      if (rows.length === 0) break;
      report.scanned += rows.length;
      after = rows[rows.length - 1].id;
      const states = await Promise.all(rows.map((d) => this.queue.state(d.id)));
      for (let i = 0; i < rows.length; i++) {
        if (states[i] === 'unknown' || states[i] === 'completed' || states[i] === 'failed') {
          await this.queue.requeue(rows[i]);
          report.requeued++;
        }
      }
    }
    if (report.requeued > 0) {
      metrics.reconciled.inc({ kind: 'delivery' }, report.requeued);
      this.log.warn(report, 'reconciler re-enqueued deliveries missing from Redis');
    }
    return report;
  }
}

/** Deletes settled notification history older than `cutoff`, a chunk at a time. */
export const purgeNotificationHistory = (store: NotificationStore, cutoff: Date): Promise<number> =>
  deleteInChunks((limit) => store.purgeBefore(cutoff, limit));
