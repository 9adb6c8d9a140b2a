const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Repeat options for periodic housekeeping jobs (sweeps, reconcilers, watchers): every `everyMs`, off the whole
 * second. Schedules' fire times cluster on whole seconds (cron, fixed rates from a round startAt), and the worker that
 * wakes for them should not be parsing a sweep's rows at that moment. BullMQ places runs at `offset + k * every` from
 * the epoch; those stay on the multiples of gcd(every, 1000) shifted by `offset`, so half that step keeps every run
 * off the second (any period but one coprime with 1000). BullMQ applies the offset when it first places a scheduler
 * (or after it fell behind); an existing one keeps its phase.
 */
export function housekeepingEvery(everyMs: number): { every: number; offset: number } {
  return { every: everyMs, offset: Math.floor(gcd(everyMs, 1000) / 2) };
}
