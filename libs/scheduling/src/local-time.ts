import { offsetAt } from './zone';

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * ISO 8601 local time with its offset in `timeZone`, e.g. 2026-03-08T03:00:00-04:00. Milliseconds appear only when
 * not zero; an offset with seconds (local mean time before 1900) keeps them, as ISO 8601 allows.
 */
export function formatLocal(instant: Date, timeZone: string): string {
  const offset = offsetAt(timeZone, instant.getTime());
  const wall = new Date(instant.getTime() + offset).toISOString().slice(0, -1); // drop the Z: this is local time
  const local = wall.endsWith('.000') ? wall.slice(0, -4) : wall;
  const abs = Math.abs(offset) / 1000;
  const sign = offset < 0 ? '-' : '+';
  const seconds = abs % 60;
  const hhmm = `${sign}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}`;
  return `${local}${hhmm}${seconds ? `:${pad(seconds)}` : ''}`;
}
