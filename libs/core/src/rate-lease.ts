/** The most requests an API process takes from a key's shared (Redis) budget in one call. */
export const MAX_RATE_LEASE = 100;
/** A lease takes at most this share of what the key has left in the window. */
const LEASE_SHARE = 1 / 16;

/**
 * How many of a key's points an API process takes from the shared budget in one Redis call, to hand out to that
 * key's next requests without asking again: a sixteenth of what the key had left in the current window at the last
 * answer, at most MAX_RATE_LEASE. Nothing known (a new window) or little left: 1, so a key near its limit is counted
 * request by request, as without leases. What a lease holds unused is lost to the key for the rest of the window;
 * with the share this small, several API processes leave little unused.
 */
export function rateLease(remainingInWindow: number | undefined): number {
  if (remainingInWindow === undefined || !(remainingInWindow > 0)) return 1;
  return Math.max(1, Math.min(MAX_RATE_LEASE, Math.floor(remainingInWindow * LEASE_SHARE)));
}
