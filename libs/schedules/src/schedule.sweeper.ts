import { deadlineMet, deadlineState, predictFinish, type AlertSink } from '@baton/alerts';
import { isTerminal } from '@baton/core';
import type { Logger } from '@baton/observability';
import type { ScheduleRunner } from './schedule.runner';
import type { ScheduleStore, TargetState } from './schedule.store';
import type { TargetRegistry } from './schedule.targets';
import type { RunEnding, ScheduleRecord, ScheduleRunRecord } from './schedule.types';

/** Runs pending longer than this lost their dispatch to a crash (or a transient error): they are dispatched again. */
const REDISPATCH_AFTER_MS = 10_000;
const SWEEP_BATCH = 5000;
const HISTORY_RUNS = 20;

export interface SweepReport {
  settled: number;
  redispatched: number;
  alertsRaised: number;
}

/**
 * Every tick: a running run whose target has finished ends the same way (status, duration, deadline met), with its
 * schedule.run.completed event; unfinished runs are checked against their deadlines (deadline_at_risk before the
 * deadline when the predicted finish passes it, deadline_missed once it has passed); runs that a crash left pending
 * are dispatched again. Alerts open once and resolve once: a run's at-risk alert when it ends, a schedule's
 * missed-deadline alert when a later run meets its deadline.
 */
export class ScheduleSweeper {
  constructor(
    private readonly store: ScheduleStore,
    private readonly targets: TargetRegistry,
    private readonly runner: ScheduleRunner,
    private readonly alerts: AlertSink,
    private readonly log: Logger,
  ) {}

  async tick(now = new Date()): Promise<SweepReport> {
    const report: SweepReport = { settled: 0, redispatched: 0, alertsRaised: 0 };
    const running = await this.store.runningRuns(SWEEP_BATCH);
    const states = await this.statesOf(running);
    const endings: RunEnding[] = [];
    const unfinished: ScheduleRunRecord[] = [];
    for (const run of running) {
      const state = run.targetId ? states.get(run.targetId) : undefined;
      if (state && isTerminal(state.status)) endings.push(ending(run, state, now));
      else unfinished.push(run);
    }
    const finished = endings.length > 0 ? await this.store.finishRuns(endings) : [];
    report.settled = finished.length;
    const schedules = new Map<string, Promise<ScheduleRecord | null>>();
    const scheduleOf = (id: string) => {
      if (!schedules.has(id)) schedules.set(id, this.store.find(id, null));
      return schedules.get(id)!;
    };
    for (const run of finished) report.alertsRaised += await this.onFinished(run, scheduleOf);
    for (const run of unfinished) {
      if (run.deadlineAt) report.alertsRaised += await this.watchDeadline(run, states, now, scheduleOf);
    }
    for (const run of await this.store.stalePending(new Date(now.getTime() - REDISPATCH_AFTER_MS), 100)) {
      const s = await scheduleOf(run.scheduleId);
      if (!s) continue;
      await this.runner.dispatch(s, run);
      report.redispatched++;
    }
    return report;
  }

  private async statesOf(runs: ScheduleRunRecord[]): Promise<Map<string, TargetState>> {
    const byType = new Map<string, string[]>();
    for (const r of runs) if (r.targetId) byType.set(r.targetType, [...(byType.get(r.targetType) ?? []), r.targetId]);
    const all = new Map<string, TargetState>();
    for (const [type, ids] of byType) {
      if (!this.targets.has(type)) continue;
      for (const [id, state] of await this.targets.get(type).states(ids)) all.set(id, state);
    }
    return all;
  }

  private async onFinished(
    run: ScheduleRunRecord,
    scheduleOf: (id: string) => Promise<ScheduleRecord | null>,
  ): Promise<number> {
    await this.alerts.resolve('deadline_at_risk', run.id, run.tenantId);
    if (run.deadlineMet === true) await this.alerts.resolve('deadline_missed', run.scheduleId, run.tenantId);
    if (run.deadlineMet !== false) return 0;
    const s = await scheduleOf(run.scheduleId);
    const how =
      run.status === 'succeeded' ? `finished late at ${run.finishedAt?.toISOString()}` : `ended ${run.status}`;
    const message = `schedule ${s?.name ?? run.scheduleId}: run ${run.id} (for ${run.scheduledFor.toISOString()}) ${how}, deadline ${run.deadlineAt?.toISOString()}`;
    return this.raise(run, 'deadline_missed', run.scheduleId, message);
  }

  private async watchDeadline(
    run: ScheduleRunRecord,
    states: Map<string, TargetState>,
    now: Date,
    scheduleOf: (id: string) => Promise<ScheduleRecord | null>,
  ): Promise<number> {
    const s = await scheduleOf(run.scheduleId);
    if (!s) return 0;
    const state = run.targetId ? states.get(run.targetId) : undefined;
    const deadline = run.deadlineAt!;
    const prediction = predictFinish({
      now,
      firedAt: run.firedAt,
      startedAt: state?.startedAt ?? null,
      progress: state?.progress ?? null,
      pastDurationsMs: await this.store.pastDurations(s.id, HISTORY_RUNS),
      expectedDurationMs: s.expectedDurationMs,
    });
    const verdict = deadlineState(deadline, prediction, now);
    if (verdict === 'missed') {
      await this.alerts.resolve('deadline_at_risk', run.id, run.tenantId);
      const message = `schedule ${s.name}: run ${run.id} (for ${run.scheduledFor.toISOString()}) is still running past its deadline ${deadline.toISOString()}`;
      return this.raise(run, 'deadline_missed', s.id, message);
    }
    if (verdict === 'at_risk' && prediction) {
      const message = `schedule ${s.name}: run ${run.id} is predicted to finish at ${prediction.at.toISOString()} (from its ${prediction.basis}), after its deadline ${deadline.toISOString()}`;
      return this.raise(run, 'deadline_at_risk', run.id, message);
    }
    return 0;
  }

  private async raise(
    run: ScheduleRunRecord,
    kind: 'deadline_at_risk' | 'deadline_missed',
    subject: string,
    message: string,
  ): Promise<number> {
    const raised = await this.alerts.raise({ tenantId: run.tenantId, kind, subject, message });
    if (raised)
      this.log.warn({ tenantId: run.tenantId, scheduleId: run.scheduleId, runId: run.id, alert: kind }, message);
    return raised ? 1 : 0;
  }
}

function ending(run: ScheduleRunRecord, state: TargetState, now: Date): RunEnding {
  const status = state.status as RunEnding['status'];
  const finishedAt = state.finishedAt ?? now;
  return {
    id: run.id,
    status,
    finishedAt,
    durationMs: Math.max(0, finishedAt.getTime() - run.firedAt.getTime()),
    deadlineMet: deadlineMet(status, finishedAt, run.deadlineAt),
    error: status === 'failed' ? state.error : null,
  };
}
