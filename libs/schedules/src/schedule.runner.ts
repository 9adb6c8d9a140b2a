import { BatonError, newId } from '@baton/core';
import { metrics, type Logger } from '@baton/observability';
import { planFire, type FirePlan } from '@baton/scheduling';
import { encodePattern } from './schedule.pattern';
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
   * One schedule's fire job: a catch-up after resume or repair (no window), or a per-schedule job scheduler from
   * before timing groups (with its window).
   */
  async fire(
    scheduleId: string,
    window?: { instant: Date; horizon: Date },
    clock: () => Date = () => new Date(),
  ): Promise<FireReport> {
    const s = await this.store.find(scheduleId, null);
    if (!s || s.deletedAt) return { fired: 0, skipped: 0, ignored: 'deleted' };
    if (s.paused) return { fired: 0, skipped: 0, ignored: 'paused' };
    return this.fireTogether([s], window, clock);
  }

  /**
   * A timing group's fire job: `window.instant` is the instant its job scheduler made it for and `window.horizon` the
   * time up to which it fires. Its active members are read when the job is picked up (ahead of the instant); each
   * then fires by its own catch-up and overlap policy, as its own job would. `ignored: 'empty'` when none is left.
   */
  async fireGroup(
    group: string,
    window: { instant: Date; horizon: Date },
    clock: () => Date = () => new Date(),
  ): Promise<FireReport> {
    const members = await this.store.activeInTimingGroup(group);
    if (members.length === 0) return { fired: 0, skipped: 0, ignored: 'empty' };
    return this.fireTogether(members, window, clock);
  }

  /**
   * Fires schedules that share their timing at the window's instant, then at any later instant up to the horizon (a
   * job picked up late covers those, since the next job is for the first instant after its horizon). A job that
   * comes due ahead waits for the instant; the moment it wakes is every run's `firedAt`, when the decision to fire
   * is made. Each instant is decided when it comes, whatever the pace of the previous one's writes; a member's
   * firings are written in order. A member that fails does not stop the others; the job then fails with its error
   * and is retried (the runs already recorded are not recorded again).
   */
  private async fireTogether(
    schedules: ScheduleRecord[],
    window: { instant: Date; horizon: Date } | undefined,
    clock: () => Date,
  ): Promise<FireReport> {
    const report: FireReport = { fired: 0, skipped: 0 };
    const failed = new Map<string, unknown>();
    const last = new Map(schedules.map((s) => [s.id, s.lastScheduledFor]));
    // Per member, its firings in order: one that fails stops its later ones in this job, so that its
    // lastScheduledFor never moves past an instant it did not record (the retry fires that one).
    const chains = new Map<string, Promise<unknown>>();
    const settled: Promise<void>[] = [];
    let jobFor = window?.instant;
    while (true) {
      // Timers may wake a millisecond early by the wall clock: wait until the instant has truly come.
      for (let wait = jobFor ? jobFor.getTime() - clock().getTime() : 0; wait > 0;) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = jobFor!.getTime() - clock().getTime();
      }
      const now = clock();
      const instant = jobFor;
      let nextAt: Date | null = null;
      for (const s of schedules) {
        const seen = last.get(s.id) ?? null;
        const plan = this.plan(s, seen, now, instant);
        nextAt = plan.nextAt; // the same for every member: it depends on the timing and now only
        if (plan.caughtUpTo) last.set(s.id, plan.caughtUpTo);
        const fired = (chains.get(s.id) ?? Promise.resolve()).then(() => this.fireOne(s, plan, seen, now, instant));
        chains.set(s.id, fired);
        settled.push(
          fired.then(
            (runs) => runs.forEach((run) => report[run.status === 'skipped' ? 'skipped' : 'fired']++),
            (error: unknown) => void failed.set(s.id, error),
          ),
        );
      }
      if (!window || !nextAt || nextAt > window.horizon) break;
      jobFor = nextAt;
    }
    await Promise.all(settled);
    if (failed.size > 0) {
      this.log.warn({ failed: failed.size, of: schedules.length }, 'schedules failed to fire; the job retries');
      throw failed.values().next().value;
    }
    return report;
  }

  /**
   * Records and starts the runs of one schedule's plan (its catch-up policy at `now`), and advances the schedule.
   * Returns the runs it inserted.
   */
  private async fireOne(
    s: ScheduleRecord,
    plan: FirePlan,
    lastScheduledFor: Date | null,
    now: Date,
    jobFor: Date | undefined,
  ): Promise<ScheduleRunRecord[]> {
    // Read a fire-ahead before the instant, the schedule may not show the previous instant's firing yet (that job
    // may still have been writing it): before firing any instant but this job's own, read it again, so that a
    // stale read never fires an instant twice over, nor marks this one skipped (overlap skip) behind it.
    if (jobFor && plan.fire.some((t) => t.getTime() !== jobFor.getTime())) {
      const fresh = await this.store.find(s.id, null);
      // Paused, deleted or re-timed since: it no longer fires with this job.
      if (!fresh || fresh.deletedAt || fresh.paused || encodePattern(fresh) !== encodePattern(s)) return [];
      const seen = fresh.lastScheduledFor;
      s = fresh;
      plan = this.plan(
        s,
        seen && (!lastScheduledFor || seen > lastScheduledFor) ? seen : lastScheduledFor,
        now,
        jobFor,
      );
    }
    const runs = plan.fire.length > 0 ? await this.start(s, plan.fire, now) : [];
    await this.store.advance(s.id, plan.caughtUpTo, plan.nextAt);
    if (plan.dropped) {
      this.log.info(
        { scheduleId: s.id, tenantId: s.tenantId, policy: s.catchUpPolicy },
        'missed fire times dropped by the catch-up policy',
      );
    }
    return runs;
  }

  private plan(s: ScheduleRecord, lastScheduledFor: Date | null, now: Date, jobFor: Date | undefined): FirePlan {
    return planFire(timingOf(s), {
      policy: s.catchUpPolicy,
      maxRuns: s.catchUpMaxRuns,
      lastScheduledFor: lastScheduledFor ?? undefined,
      createdAt: s.createdAt,
      now,
      graceMs: this.settings.graceMs,
      jobFor,
    });
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
      // Scheduler lag: from the fire time to the run being fired (skipped runs too: they were due as well).
      metrics.schedulerLag.observe({ target: run.targetType }, run.lagMs / 1000);
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
