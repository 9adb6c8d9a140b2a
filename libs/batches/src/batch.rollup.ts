import { canTransition, countsAddUp, rollUp, type Counts, type Outcome, type WorkStatus } from '@baton/core';

/** The counters after one item moves from one state to another; they always add up to the total. */
export function shiftCounts(counts: Counts, from: WorkStatus, to: WorkStatus): Counts {
  if (from === to) return counts;
  if (!canTransition(from, to)) throw new Error(`an item cannot move from ${from} to ${to}`);
  if (counts[from] <= 0) throw new Error(`no item is ${from}`);
  const next = { ...counts, [from]: counts[from] - 1, [to]: counts[to] + 1 };
  if (!countsAddUp(next)) throw new Error('counts no longer add up');
  return next;
}

/** A new batch: every kept item queued. */
export const initialCounts = (total: number): Counts => ({
  total,
  queued: total,
  running: 0,
  succeeded: 0,
  failed: 0,
  cancelled: 0,
});

/**
 * The batch's status from its counters. Terminal when nothing is queued or running; a cancelled batch ends
 * `cancelled` once nothing is in flight, whatever its items reached.
 */
export function batchStatus(
  counts: Counts,
  cancelRequested: boolean,
): { status: WorkStatus; outcome: Outcome | null; terminal: boolean } {
  const { status, outcome } = rollUp(counts, cancelRequested);
  return { status, outcome, terminal: outcome !== null };
}

/** Reopening for retry-failed: failed items go back to queued; the batch runs again under a new generation. */
export function reopenCounts(counts: Counts): Counts {
  return { ...counts, queued: counts.queued + counts.failed, failed: 0 };
}
