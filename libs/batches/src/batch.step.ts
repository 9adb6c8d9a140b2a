import { backoffDelay } from '@baton/core';
import type { BatchPolicy } from './batch.policy';

/** What the cluster said of a run (libs/cluster's report, kept structural so the rules stay free of I/O libs). */
export interface RunReport {
  status: 'SUBMITTED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'UNKNOWN';
  error?: string;
}

/** One run (attempt) of an item on the cluster, as the orchestrator tracks it. */
export interface RunState {
  /** 1 for the first run of the item. */
  attempt: number;
  submittedAt: Date;
  /** When the run was first seen RUNNING; null until then. */
  runningSince: Date | null;
  /** Status checks made so far in this run. */
  polls: number;
}

export type FailureCode = 'cluster_failed' | 'stuck_submitted' | 'stuck_running' | 'timeout';

export interface RunFailure {
  code: FailureCode;
  message: string;
  /** The run may still be alive on the cluster: cancel it there before moving on. */
  cancelOnCluster: boolean;
}

export type Step =
  /** Not finished: check again after `delayMs`. */
  | { kind: 'poll'; delayMs: number; runningSince: Date | null }
  | { kind: 'succeeded' }
  /** This run failed and attempts remain: submit a new run (a new client token) after `delayMs`. */
  | { kind: 'resubmit'; failure: RunFailure; delayMs: number }
  /** Failed for good. */
  | { kind: 'failed'; failure: RunFailure };

/** Shortest pause between two status checks, whatever the jitter draws. */
export const MIN_POLL_MS = 50;

/**
 * The next step of a run after a status check. FAILED runs are re-run while attempts remain; a run that passes the
 * policy's timeout, or stays SUBMITTED (unknown counts as submitted: the cluster is eventually consistent) or RUNNING
 * past its stuck bound, is cancelled on the cluster and treated as a failed run. Otherwise the next check comes after
 * an exponential, fully jittered, capped delay, never later than the next deadline of the run.
 */
export function decideStep(
  run: RunState,
  report: RunReport,
  policy: BatchPolicy,
  now: Date,
  random: () => number = Math.random,
): Step {
  if (report.status === 'SUCCEEDED') return { kind: 'succeeded' };
  if (report.status === 'FAILED') {
    return failedRun(
      run,
      policy,
      { code: 'cluster_failed', message: report.error ?? 'the cluster reported FAILED', cancelOnCluster: false },
      random,
    );
  }
  const runningSince = report.status === 'RUNNING' ? (run.runningSince ?? now) : run.runningSince;
  const overdue = overdueFailure(run, report, runningSince, policy, now);
  if (overdue) return failedRun(run, policy, overdue, random);
  const delay = Math.max(MIN_POLL_MS, backoffDelay(run.polls + 1, policy.backoff, random));
  const untilDeadline = nextDeadline(run, report, runningSince, policy) - now.getTime();
  return { kind: 'poll', delayMs: Math.max(MIN_POLL_MS, Math.min(delay, untilDeadline)), runningSince };
}

function failedRun(run: RunState, policy: BatchPolicy, failure: RunFailure, random: () => number): Step {
  if (run.attempt >= policy.maxAttempts) return { kind: 'failed', failure };
  return { kind: 'resubmit', failure, delayMs: backoffDelay(run.attempt, policy.backoff, random) };
}

function overdueFailure(
  run: RunState,
  report: RunReport,
  runningSince: Date | null,
  policy: BatchPolicy,
  now: Date,
): RunFailure | null {
  const since = (d: Date) => now.getTime() - d.getTime();
  if (policy.jobTimeoutMs !== null && since(run.submittedAt) >= policy.jobTimeoutMs) {
    return {
      code: 'timeout',
      message: `not finished ${policy.jobTimeoutMs} ms after submission`,
      cancelOnCluster: true,
    };
  }
  const waiting = report.status === 'SUBMITTED' || report.status === 'UNKNOWN';
  if (waiting && policy.stuckAfterMs.submitted !== null && since(run.submittedAt) >= policy.stuckAfterMs.submitted) {
    return {
      code: 'stuck_submitted',
      message: `still ${report.status} after ${policy.stuckAfterMs.submitted} ms`,
      cancelOnCluster: true,
    };
  }
  if (
    report.status === 'RUNNING' &&
    runningSince &&
    policy.stuckAfterMs.running !== null &&
    since(runningSince) >= policy.stuckAfterMs.running
  ) {
    return {
      code: 'stuck_running',
      message: `still RUNNING after ${policy.stuckAfterMs.running} ms`,
      cancelOnCluster: true,
    };
  }
  return null;
}

/** The earliest instant at which the run becomes overdue (Infinity when no bound applies). */
function nextDeadline(run: RunState, report: RunReport, runningSince: Date | null, policy: BatchPolicy): number {
  const deadlines = [Infinity];
  if (policy.jobTimeoutMs !== null) deadlines.push(run.submittedAt.getTime() + policy.jobTimeoutMs);
  if ((report.status === 'SUBMITTED' || report.status === 'UNKNOWN') && policy.stuckAfterMs.submitted !== null) {
    deadlines.push(run.submittedAt.getTime() + policy.stuckAfterMs.submitted);
  }
  if (report.status === 'RUNNING' && runningSince && policy.stuckAfterMs.running !== null) {
    deadlines.push(runningSince.getTime() + policy.stuckAfterMs.running);
  }
  return Math.min(...deadlines);
}

/**
 * The client token of one run of one item: derived from the item's id, the batch generation it runs in and the run's
 * number, so a submission retried after a timeout (or a crash) carries the same token and the cluster returns the same
 * job, while a new run, or a run after retry-failed reopened the batch, carries a new one.
 */
export const runClientToken = (batchJobId: string, generation: number, attempt: number): string =>
  `${batchJobId}.${generation}.${attempt}`;

/**
 * Status checks made so far in a run, estimated from its age: with delays doubling from `baseMs`, n checks take about
 * baseMs·(2ⁿ−1). Kept out of storage, so a check that finds nothing new writes nothing.
 */
export function pollsSoFar(submittedAt: Date, now: Date, baseMs: number): number {
  const elapsed = Math.max(0, now.getTime() - submittedAt.getTime());
  return Math.max(0, Math.floor(Math.log2(1 + elapsed / Math.max(1, baseMs))));
}
