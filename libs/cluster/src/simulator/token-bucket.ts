/**
 * A token bucket: `capacity` tokens, refilled at `perSecond`. Each accepted call takes one; when none is left the
 * caller learns how long until one is due. Over any 1-second window it admits at most capacity + perSecond.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  /** Takes a token: 0 when granted, else the ms until the next token is due. */
  take(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
