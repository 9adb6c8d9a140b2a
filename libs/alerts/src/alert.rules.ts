/** API.md's alert kinds. */
export const ALERT_KINDS = [
  'deadline_at_risk',
  'deadline_missed',
  'backlog',
  'stuck_jobs',
  'delivery_failing',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface FinishPredictionInput {
  now: Date;
  /** When the run was fired: durations of past runs are counted from here. */
  firedAt: Date;
  /** When its target started running (null while it waits). */
  startedAt: Date | null;
  /** The target's progress, 0–100, when it reports any. */
  progress: number | null;
  /** Durations of the schedule's recent successful runs. */
  pastDurationsMs: number[];
  expectedDurationMs: number | null;
}

export type PredictionBasis = 'progress' | 'history' | 'expected';

export interface FinishPrediction {
  at: Date;
  basis: PredictionBasis;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * When a running run will finish: from its progress rate when it reports progress (the most direct evidence), else
 * from the median of the schedule's past durations, else from its expectedDurationMs; null when nothing is known.
 * Never before now: a run past its usual duration is expected at any moment, not in the past.
 */
export function predictFinish(input: FinishPredictionInput): FinishPrediction | null {
  const now = input.now.getTime();
  const clamp = (ms: number): Date => new Date(Math.max(now, Math.round(ms)));
  const { progress, startedAt } = input;
  if (startedAt && progress !== null && progress > 0 && progress < 100) {
    const elapsed = now - startedAt.getTime();
    if (elapsed > 0) return { at: clamp(startedAt.getTime() + (elapsed * 100) / progress), basis: 'progress' };
  }
  if (input.pastDurationsMs.length > 0) {
    return { at: clamp(input.firedAt.getTime() + median(input.pastDurationsMs)), basis: 'history' };
  }
  if (input.expectedDurationMs !== null) {
    return { at: clamp((startedAt ?? input.firedAt).getTime() + input.expectedDurationMs), basis: 'expected' };
  }
  return null;
}

export type DeadlineState = 'on_track' | 'at_risk' | 'missed';

/**
 * An unfinished run's standing against its deadline. At risk only before the deadline (an alert after the fact is
 * no warning); once the deadline has passed unfinished it is missed.
 */
export function deadlineState(deadlineAt: Date, prediction: FinishPrediction | null, now: Date): DeadlineState {
  if (now.getTime() >= deadlineAt.getTime()) return 'missed';
  return prediction && prediction.at.getTime() > deadlineAt.getTime() ? 'at_risk' : 'on_track';
}

/** Whether a run that ended met its deadline: it succeeded, no later than the deadline. Null without a deadline. */
export function deadlineMet(status: string, finishedAt: Date, deadlineAt: Date | null): boolean | null {
  if (!deadlineAt) return null;
  return status === 'succeeded' && finishedAt.getTime() <= deadlineAt.getTime();
}

export interface BacklogBounds {
  maxWaiting: number;
  maxOldestWaitingMs: number;
}

/** Why a queue counts as backed up (its waiting count or its oldest waiting job's age past a bound), or null. */
export function backlogBreach(
  stats: { name: string; waiting: number; oldestWaitingMs: number },
  bounds: BacklogBounds,
): string | null {
  const reasons: string[] = [];
  if (stats.waiting > bounds.maxWaiting) reasons.push(`${stats.waiting} jobs waiting (bound ${bounds.maxWaiting})`);
  if (stats.oldestWaitingMs > bounds.maxOldestWaitingMs) {
    reasons.push(
      `oldest waiting job is ${Math.round(stats.oldestWaitingMs / 1000)} s old (bound ${Math.round(bounds.maxOldestWaitingMs / 1000)} s)`,
    );
  }
  return reasons.length > 0 ? `queue ${stats.name}: ${reasons.join('; ')}` : null;
}

/** A running unit of work whose last heartbeat is older than stuckAfterMs is stuck. */
export const isStuck = (heartbeatAt: Date | null, startedAt: Date | null, now: Date, stuckAfterMs: number): boolean => {
  const last = heartbeatAt ?? startedAt;
  return last !== null && now.getTime() - last.getTime() > stuckAfterMs;
};
