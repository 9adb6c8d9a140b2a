import type { Logger } from '@baton/observability';
import { backlogBreach, isStuck, type BacklogBounds } from './alert.rules';
import type { AlertSink } from './alert.store';

export interface RunningUnit {
  id: string;
  tenantId: string;
  kind: string;
  heartbeatAt: Date | null;
  startedAt: Date | null;
}

/** What the watcher reads: queue depth and the running work with its heartbeats. */
export interface AlertSources {
  queues(): Promise<{ name: string; waiting: number; oldestWaitingMs: number }[]>;
  /** Running units (tasks today) whose heartbeat is older than `before`. */
  silentSince(before: Date): Promise<RunningUnit[]>;
  /** Of these ids, the ones still running with a heartbeat newer than `after`, or no longer running. */
  recovered(ids: string[], after: Date): Promise<string[]>;
}

/**
 * Backlog and stuck-job alerts, checked every tick. Each alert opens once (its open key is unique) and resolves once,
 * when its condition is gone: a queue back under its bounds, a stuck unit heartbeating again or finished.
 */
export class AlertWatcher {
  constructor(
    private readonly alerts: AlertSink,
    private readonly sources: AlertSources,
    private readonly settings: BacklogBounds & { stuckAfterMs: number },
    private readonly log: Logger,
  ) {}

  async tick(now = new Date()): Promise<{ raised: number; resolved: number }> {
    let raised = 0;
    let resolved = 0;
    for (const queue of await this.sources.queues()) {
      const breach = backlogBreach(queue, this.settings);
      if (breach) {
        if (await this.alerts.raise({ tenantId: null, kind: 'backlog', subject: queue.name, message: breach })) {
          raised++;
          this.log.warn({ queue: queue.name }, breach);
        }
      } else if (await this.alerts.resolve('backlog', queue.name, null)) resolved++;
    }
    const cutoff = new Date(now.getTime() - this.settings.stuckAfterMs);
    for (const unit of await this.sources.silentSince(cutoff)) {
      if (!isStuck(unit.heartbeatAt, unit.startedAt, now, this.settings.stuckAfterMs)) continue;
      const last = (unit.heartbeatAt ?? unit.startedAt)!.toISOString();
      const message = `${unit.kind} ${unit.id} is running but its last heartbeat was at ${last}`;
      if (await this.alerts.raise({ tenantId: unit.tenantId, kind: 'stuck_jobs', subject: unit.id, message })) {
        raised++;
        this.log.warn({ tenantId: unit.tenantId, [`${unit.kind}Id`]: unit.id }, message);
      }
    }
    const open = await this.alerts.openSubjects('stuck_jobs');
    for (const id of open.length > 0 ? await this.sources.recovered(open, cutoff) : []) {
      if (await this.alerts.resolve('stuck_jobs', id)) resolved++;
    }
    return { raised, resolved };
  }
}
