/**
 * Milliseconds to wait from a Retry-After header: delay-seconds ("120", decimals tolerated) or an HTTP date.
 * undefined when absent or unreadable; a date in the past means 0. No cap here: the caller bounds the wait.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only real dates: Date.parse also reads bare numbers and odd strings as dates.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
