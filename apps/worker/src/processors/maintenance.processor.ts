import { Inject, Injectable } from '@nestjs/common';
import { BatchReconciler, type BatchReconcileReport } from '@baton/batches';
import { QUEUES } from '@baton/contracts';
import { publishTenantLimits } from '@baton/fairness';
import { JobHandler } from '@baton/queue';
import { purgeNotificationHistory } from '@baton/notifications';
import type { Runtime } from '@baton/runtime';
import { purgeTaskHistory, retentionCutoff, TaskReconciler, type ReconcileReport } from '@baton/tasks';
import { RUNTIME } from '../tokens';

@Injectable()
export class MaintenanceProcessor {
  private readonly reconciler: TaskReconciler;
  private readonly batchReconciler: BatchReconciler;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    this.reconciler = new TaskReconciler(
      runtime.stores.tasks,
      runtime.taskQueue,
      runtime.producer.queue(QUEUES.tasks),
      runtime.redis,
      runtime.log,
    );
    this.batchReconciler = new BatchReconciler(
      runtime.stores.batches,
      runtime.batchQueue,
      { batches: runtime.producer.queue(QUEUES.batches), cluster: runtime.producer.queue(QUEUES.cluster) },
      runtime.log,
    );
  }

  @JobHandler('maintenance.reconcile')
  async reconcile(): Promise<
    ReconcileReport & { batches: BatchReconcileReport; idempotencyPurged: number; fair: Record<string, object> }
  > {
    const report = await this.reconciler.run(this.runtime.config.RECONCILE_GRACE_MS);
    const batches = await this.batchReconciler.run(this.runtime.config.RECONCILE_GRACE_MS);
    const idempotencyPurged = await this.runtime.stores.idempotency.purgeExpired();
    const fair = await this.repairFairDispatch();
    return { ...report, batches, idempotencyPurged, fair };
  }

  /**
   * Tenants' own fair-share settings are re-published from Postgres (Redis may have lost them), and each fair
   * dispatcher repairs what crashes left (libs/fairness audit).
   */
  private async repairFairDispatch(): Promise<Record<string, object>> {
    const { redis, config, stores } = this.runtime;
    for (const t of await stores.access.tenantsWithLimits())
      await publishTenantLimits(redis, config.QUEUE_PREFIX, t.id, t.limits);
    const reports: Record<string, object> = {};
    for (const fair of Object.values(this.runtime.fair)) reports[fair.name] = await fair.audit();
    return reports;
  }

  /** Execution history is kept in Postgres for HISTORY_RETENTION_DAYS, whatever Redis keeps. */
  @JobHandler('maintenance.purge')
  async purge(): Promise<{
    tasksPurged: number;
    deadLettersPurged: number;
    notificationsPurged: number;
    batchesPurged: number;
  }> {
    const cutoff = retentionCutoff(new Date(), this.runtime.config.HISTORY_RETENTION_DAYS);
    const tasksPurged = await purgeTaskHistory(this.runtime.stores.tasks, cutoff);
    const deadLettersPurged = await this.runtime.stores.deadLetters.purgeBefore(cutoff);
    const notificationsPurged = await purgeNotificationHistory(this.runtime.stores.notifications, cutoff);
    // A few batches a statement: each takes its jobs (up to 100,000) and their attempts with it.
    const BATCHES_PER_STATEMENT = 10;
    let batchesPurged = 0;
    for (;;) {
      const n = await this.runtime.stores.jobHistory.purgeFinishedBatches(cutoff, BATCHES_PER_STATEMENT);
      batchesPurged += n;
      if (n < BATCHES_PER_STATEMENT) break;
    }
    return { tasksPurged, deadLettersPurged, notificationsPurged, batchesPurged };
  }
}
