import { BatonError, newId } from '@baton/core';
import { metrics, type Logger } from '@baton/observability';
import { planFire } from '@baton/scheduling';
import { timingOf } from './schedule.rules';
import type { ScheduleStore } from './schedule.store';
import { targetBody, TargetUnavailableError, type TargetRegistry } from './schedule.targets';
import type { RunEnding, ScheduleRecord, ScheduleRunRecord } from './schedule.types';

export interface FireReport {
  fired: number;
  skipped: number;
  ignored?: string;
}

/** Failures that another attempt cannot fix: the run is recorded as failed with the error, not retried. */
const isPermanent = (error: unknown): error is Error =>
  error instanceof TargetUnavailableError || (error instanceof BatonError && !error.retryable);

/**
 * Fires schedules: decides which instants run (catch-up policy), records each run in Postgres, where
 * (scheduleId, scheduledFor) is unique, and creates its target only when this process inserted the run. However many
 * workers fire the same instant, and however often a job runs again, an instant gets one run and one target.
 */
export class ScheduleRunner {
  constructor(
    private readonly store: ScheduleStore,
    private readonly targets: TargetRegistry,
    private readonly settings: { graceMs: number },
    private readonly log: Logger,
  ) {}

  /**
   * A fire job: `jobFor` is the instant its job scheduler made it for and `horizon` the time up to which it fires
   * (both absent for a catch-up after resume). A job that comes due ahead reads its schedule, then waits for the
   * horizon before it plans and fires.
   */
  async fire(
    scheduleId: string,
    window?: { instant: Date; horizon: Date },
    clock: () => Date = () => new Date(),
  ): Promise<FireReport> {
    const s = await this.store.find(scheduleId, null);
    if (!s || s.deletedAt) return { fired: 0, skipped: 0, ignored: 'deleted' };
    if (s.paused) return { fired: 0, skipped: 0, ignored: 'paused' };
    const report: FireReport = { fired: 0, skipped: 0 };
    const timing = timingOf(s);
    let lastScheduledFor = s.lastScheduledFor;
    let jobFor = window?.instant;
    // Fire at the job's instant, then at any later instant up to the horizon: a job picked up late covers those,
    // since the next job is for the first instant after its horizon.
    while (true) {
      // Timers may wake a millisecond early by the wall clock: wait until the instant has truly come.
      for (let wait = jobFor ? jobFor.getTime() - clock().getTime() : 0; wait > 0;) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = jobFor!.getTime() - clock().getTime();
      }
      const now = clock();
      const plan = planFire(timing, {
        policy: s.catchUpPolicy,
        maxRuns: s.catchUpMaxRuns,
        lastScheduledFor: lastScheduledFor ?? undefined,
        createdAt: s.createdAt,
        now,
        graceMs: this.settings.graceMs,
        jobFor,
      });
      const runs = plan.fire.length > 0 ? await this.start(s, plan.fire, now) : [];
      await this.store.advance(s.id, plan.caughtUpTo, plan.nextAt);
      if (plan.dropped) {
        this.log.info(
          { scheduleId: s.id, tenantId: s.tenantId, policy: s.catchUpPolicy },
          'missed fire times dropped by the catch-up policy',
        );
      }
      for (const run of runs) report[run.status === 'skipped' ? 'skipped' : 'fired']++;
      lastScheduledFor = plan.caughtUpTo ?? lastScheduledFor;
      if (!window || !plan.nextAt || plan.nextAt > window.horizon) return report;
      jobFor = plan.nextAt;
    }
  }

  /** Run now (POST .../trigger): a run for this instant with the reserved id; the same id again returns that run. */
  async trigger(s: ScheduleRecord, runId: string, now = new Date()): Promise<ScheduleRunRecord> {
    const existing = await this.store.findRun(runId);
    if (existing) return existing;
    const [run] = await this.start(s, [now], now, runId);
    return (await this.store.findRun(run.id)) ?? run;
  }

  /**
   * Records runs for these instants and starts their targets, honouring the overlap policy: `allow` starts each,
   * `skip` records a run as skipped while an earlier one is open, `cancel_previous` cancels the open ones first.
   * Returns the runs this call inserted.
   */
  private async start(
    s: ScheduleRecord,
    instants: Date[],
    firedAt: Date,
    runId?: string,
  ): Promise<ScheduleRunRecord[]> {
    const open = s.overlap === 'allow' ? [] : await this.store.openRuns(s.id);
    const type = s.target.type;
    const runs = instants.map((scheduledFor, i): ScheduleRunRecord => {
      const skipped = s.overlap === 'skip' && (open.length > 0 || i > 0);
      return {
        id: runId ?? newId('run'),
        scheduleId: s.id,
        tenantId: s.tenantId,
        scheduledFor,
        firedAt,
        lagMs: Math.max(0, firedAt.getTime() - scheduledFor.getTime()),
        status: skipped ? 'skipped' : 'pending',
        targetType: type,
        targetId: skipped || !this.targets.has(type) ? null : this.targets.get(type).newId(),
        durationMs: skipped ? 0 : null,
        deadlineAt: s.deadlineWithinMs !== null ? new Date(scheduledFor.getTime() + s.deadlineWithinMs) : null,
        deadlineMet: null,
        finishedAt: skipped ? firedAt : null,
        error: null,
      };
    });
    const inserted = await this.store.insertRuns(runs);
    const mine = runs.filter((r) => inserted.has(r.id));
    if (s.overlap === 'cancel_previous' && mine.some((r) => r.status === 'pending')) await this.cancelOpen(open);
    for (const run of mine) {
      // Scheduler lag: from the fire time to the run being fired.
      metrics.enqueueToStart.observe({ queue: 'schedules' }, run.lagMs / 1000);
      if (run.status === 'pending') await this.dispatch(s, run);
      this.log.info(
        {
          scheduleId: s.id,
          tenantId: s.tenantId,
          runId: run.id,
          scheduledFor: run.scheduledFor,
          lagMs: run.lagMs,
          status: run.status,
        },
        run.status === 'skipped' ? 'schedule run skipped: the previous run is still open' : 'schedule fired',
      );
    }
    return mine;
  }

  /**
   * Creates a run's target under the id the run reserved (so doing it twice creates one object), then marks the run
   * running. A target type this build lacks, or a body its API now refuses, fails the run with the error; a transient
   * failure propagates (the fire job retries, and the sweep re-dispatches runs left pending).
   */
  async dispatch(s: ScheduleRecord, run: ScheduleRunRecord): Promise<void> {
    try {
      const target = this.targets.get(run.targetType);
      if (!run.targetId) throw new TargetUnavailableError(run.targetType);
      await target.dispatch({ id: run.targetId, run, schedule: s, body: targetBody(s.target) });
      await this.store.markDispatched(run.id);
    } catch (error) {
      if (!isPermanent(error)) throw error;
      const code = (error as { code?: string }).code ?? 'error';
      const now = new Date();
      const ending: RunEnding = {
        id: run.id,
        status: 'failed',
        finishedAt: now,
        durationMs: Math.max(0, now.getTime() - run.firedAt.getTime()),
        deadlineMet: run.deadlineAt ? false : null,
        error: { code, message: error.message },
      };
      await this.store.finishRuns([ending]);
      this.log.warn(
        { scheduleId: s.id, tenantId: s.tenantId, runId: run.id, error: ending.error },
        'schedule run failed to start',
      );
    }
  }

  private async cancelOpen(open: ScheduleRunRecord[]): Promise<void> {
    for (const run of open) {
      if (!run.targetId || !this.targets.has(run.targetType)) continue;
      await this.targets
        .get(run.targetType)
        .cancel(run.targetId, run.tenantId)
        .catch((err: unknown) => this.log.warn({ runId: run.id, err }, 'previous run not cancelled'));
    }
  }
}
