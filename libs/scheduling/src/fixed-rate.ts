/**
 * Fixed rate: fires at anchor + k·everyMs for k = 0, 1, 2, … (the anchor is startAt, or the schedule's creation
 * time). Counting from the anchor instead of from the last run keeps the rate exact however late a run starts, and
 * lets any instant be checked without history. Absolute time: a DST change does not move these instants.
 */
export function nextEveryTimes(everyMs: number, anchor: Date, after: Date, count: number): Date[] {
  const a = anchor.getTime();
  const first = after.getTime() < a ? 0 : Math.floor((after.getTime() - a) / everyMs) + 1;
  return Array.from({ length: Math.max(0, count) }, (_, i) => new Date(a + (first + i) * everyMs));
}

/** The last fixed-rate instant before `before`, or null when `before` is not after the anchor. */
export function previousEveryTime(everyMs: number, anchor: Date, before: Date): Date | null {
  const a = anchor.getTime();
  if (before.getTime() <= a) return null;
  return new Date(a + (Math.ceil((before.getTime() - a) / everyMs) - 1) * everyMs);
}
