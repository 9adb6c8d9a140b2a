/** States of a unit of work (batch, task, inference job) and of each item in it, as API.md defines them. */
export const WORK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type WorkStatus = (typeof WORK_STATUSES)[number];
export type Outcome = 'all_succeeded' | 'partial' | 'all_failed' | 'cancelled';

const TERMINAL: ReadonlySet<WorkStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export const isTerminal = (status: WorkStatus): boolean => TERMINAL.has(status);

/** queued → running → terminal; running → queued is a retry backing off; terminal never moves. */
const ALLOWED: Record<WorkStatus, readonly WorkStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  running: ['queued', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export const canTransition = (from: WorkStatus, to: WorkStatus): boolean => ALLOWED[from].includes(to);

export interface Counts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** The share of a unit's items that ended (succeeded, failed or cancelled), 0–100: its progress. */
export const endedPercent = (c: Counts): number =>
  c.total === 0 ? 100 : Math.floor(((c.succeeded + c.failed + c.cancelled) * 100) / c.total);

export const countsAddUp = (c: Counts): boolean =>
  c.queued + c.running + c.succeeded + c.failed + c.cancelled === c.total;

/**
 * Roll item counts up into the unit's status and outcome.
 * Terminal once nothing is queued or running: succeeded when every item succeeded, cancelled when the
 * unit was cancelled, otherwise failed (at least one item failed for good) with outcome partial or all_failed.
 */
export function rollUp(c: Counts, cancelRequested = false): { status: WorkStatus; outcome: Outcome | null } {
  if (c.queued + c.running > 0) {
    return { status: c.running > 0 || c.succeeded + c.failed + c.cancelled > 0 ? 'running' : 'queued', outcome: null };
  }
  if (cancelRequested || (c.cancelled > 0 && c.failed === 0 && c.succeeded < c.total)) {
    return { status: 'cancelled', outcome: 'cancelled' };
  }
  if (c.succeeded === c.total) return { status: 'succeeded', outcome: 'all_succeeded' };
  return { status: 'failed', outcome: c.succeeded > 0 ? 'partial' : 'all_failed' };
}
