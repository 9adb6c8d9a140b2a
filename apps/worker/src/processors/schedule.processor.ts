import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { AlertWatcher } from '@baton/alerts';
import { ALL_QUEUES, type JobPayloads } from '@baton/contracts';
import { JobHandler, PermanentJobError } from '@baton/queue';
import { describeQueueOf, scheduleTargetsOf, type Runtime } from '@baton/runtime';
import { fireWindowOf, ScheduleReconciler, ScheduleRunner, ScheduleSweeper, type FireReport } from '@baton/schedules';
import { RUNTIME } from '../tokens';

/** The schedules queue: fire jobs from the job schedulers, the run sweep, the scheduler reconciler, alert checks. */
@Injectable()
export class ScheduleProcessor {
  private readonly runner: ScheduleRunner;
  private readonly sweeper: ScheduleSweeper;
  private readonly reconciler: ScheduleReconciler;
  private readonly watcher: AlertWatcher;

  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {
    const { config, log, stores } = runtime;
    const targets = scheduleTargetsOf(runtime);
    this.runner = new ScheduleRunner(stores.schedules, targets, { graceMs: config.SCHEDULE_CATCH_UP_GRACE_MS }, log);
    this.sweeper = new ScheduleSweeper(stores.schedules, targets, this.runner, stores.alerts, log);
    this.reconciler = new ScheduleReconciler(stores.schedules, runtime.scheduleQueue, log);
    this.watcher = new AlertWatcher(
      stores.alerts,
      {
        queues: () => Promise.all(ALL_QUEUES.map((q) => describeQueueOf(runtime, q))),
        silentSince: (before) => stores.heartbeats.silentSince(before),
        recovered: (ids, after) => stores.heartbeats.recovered(ids, after),
      },
      {
        maxWaiting: config.ALERT_BACKLOG_WAITING,
        maxOldestWaitingMs: config.ALERT_BACKLOG_OLDEST_MS,
        stuckAfterMs: config.STUCK_AFTER_MS,
      },
      log,
    );
  }

  /**
   * The instant a job scheduler made this job for travels in its options (BullMQ's prevMillis). Its horizon counts
   * from now, which is after BullMQ scheduled the next job at pick-up: a later horizon may overlap the next job's
   * instants (the run's unique key makes that harmless), an earlier one could skip one. A timing group's job fires
   * its members; a group left without any gives its job scheduler back.
   */
  @JobHandler('schedule.fire')
  async fire(job: Job<JobPayloads['schedule.fire']>): Promise<FireReport> {
    const { prevMillis, repeat } = job.opts as { prevMillis?: number; repeat?: { pattern?: string; count?: number } };
    const window = job.repeatJobKey && prevMillis ? fireWindowOf(prevMillis, Date.now(), repeat) : undefined;
    if (!('timingGroup' in job.data)) return this.runner.fire(job.data.scheduleId, window);
    const group = job.data.timingGroup;
    if (!window) throw new PermanentJobError(`a timing group's fire job without its scheduler: ${group}`);
    const report = await this.runner.fireGroup(group, window);
    if (report.ignored === 'empty') await this.runtime.scheduleQueue.release(group, this.runtime.stores.schedules);
    return report;
  }

  @JobHandler('schedule.sweep')
  sweep() {
    return this.sweeper.tick();
  }

  @JobHandler('schedule.reconcile')
  reconcile() {
    return this.reconciler.run();
  }

  @JobHandler('alerts.watch')
  watch() {
    return this.watcher.tick();
  }
}
