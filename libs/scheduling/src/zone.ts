/**
 * Time-zone arithmetic on `Intl.DateTimeFormat`. Node 20 ships full ICU with the IANA database and its history,
 * which is all the zone math here needs; a date library (luxon) would add a dependency without removing any of the
 * DST decisions below, which are Baton's own.
 *
 * A "wall" time is a local date and time written as epoch milliseconds as if it were UTC (Date.UTC(y, m, d, ...)):
 * it can be compared and stepped like an instant, but says nothing about the zone. Offsets are in milliseconds,
 * wall = instant + offset. tzdb offsets and transitions fall on whole seconds, which the searches below rely on.
 */
const SECOND = 1000;
const DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is a zone name the runtime's IANA database knows (links such as US/Eastern included). */
export function isTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const isUtc = (timeZone: string): boolean => timeZone === 'UTC' || timeZone === 'Etc/UTC';
const floorSecond = (ms: number): number => Math.floor(ms / SECOND) * SECOND;

/** The zone's offset from UTC at `instant`, in milliseconds (whole seconds). */
export function offsetAt(timeZone: string, instant: number): number {
  if (isUtc(timeZone)) return 0;
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - floorSecond(instant);
}

/** The first whole-second instant in (lo, hi] whose offset differs from lo's; lo and hi are whole seconds. */
function firstChangeAfter(timeZone: string, lo: number, hi: number): number {
  const before = offsetAt(timeZone, lo);
  while (hi - lo > SECOND) {
    const mid = lo + Math.floor((hi - lo) / (2 * SECOND)) * SECOND;
    if (offsetAt(timeZone, mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

export interface WallResolution {
  /** The instant that stands for the wall time: its first occurrence, or the first instant after its gap. */
  instant: number;
  /** Set when the wall time does not exist (spring forward): the first wall time of the gap and the first after it. */
  gap?: { startWall: number; endWall: number };
}

/**
 * Maps a wall time to the one instant that fires for it (API.md's DST rule): a time that occurs twice (fall back)
 * maps to its first occurrence; a time that does not exist (spring forward) maps to the first instant after the gap.
 * The mapping never decreases as the wall time grows, which is what lets cron search in wall time and convert after.
 */
export function resolveWall(timeZone: string, wall: number): WallResolution {
  if (isUtc(timeZone)) return { instant: wall };
  // The offset at the instant numerically equal to the wall time is within a day of the right one; two rounds settle
  // on an offset that maps back to the wall time, unless the wall time is in a gap.
  let offset = offsetAt(timeZone, wall);
  let actual = offsetAt(timeZone, wall - offset);
  if (actual !== offset) {
    const first = offset;
    offset = actual;
    actual = offsetAt(timeZone, wall - offset);
    if (actual !== offset) return gapResolution(timeZone, wall, first, offset);
  }
  const instant = wall - offset;
  // A fall back within the day before: the same wall time may have occurred earlier under the larger offset.
  const earlierOffset = offsetAt(timeZone, instant - DAY);
  if (earlierOffset > offset && offsetAt(timeZone, wall - earlierOffset) === earlierOffset) {
    return { instant: wall - earlierOffset };
  }
  return { instant };
}

function gapResolution(timeZone: string, wall: number, a: number, b: number): WallResolution {
  // Before the transition the smaller offset holds, after it the larger, and the wall time matches neither.
  const transition = firstChangeAfter(timeZone, wall - Math.max(a, b), wall - Math.min(a, b));
  return {
    instant: transition,
    gap: {
      startWall: transition + offsetAt(timeZone, transition - SECOND),
      endWall: transition + offsetAt(timeZone, transition),
    },
  };
}

/**
 * The wall time at `instant`, and, when `instant` falls in the second pass of a repeated (fall-back) interval, the
 * wall time at which that repetition ends: every wall time before it already occurred before `instant`.
 */
export function wallAt(timeZone: string, instant: number): { wall: number; repeatEndWall?: number } {
  const offset = offsetAt(timeZone, instant);
  const wall = instant + offset;
  const dayBefore = offsetAt(timeZone, instant - DAY);
  if (dayBefore <= offset) return { wall };
  const transition = firstChangeAfter(timeZone, floorSecond(instant) - DAY, floorSecond(instant));
  const repeatEndWall = transition + dayBefore;
  return wall < repeatEndWall ? { wall, repeatEndWall } : { wall };
}
