/** When a micro-batch fires: at `maxBatchSize` items of one bucket, or when its oldest item has waited `maxWaitMs`. */
export interface BatchRules {
  maxBatchSize: number;
  maxWaitMs: number;
  /**
   * Batches handed to the runtime at once: one more than the runtime runs side by side (the default, 2, suits one
   * session), so the extra one waits there, ready, and the runtime never idles while the event loop finishes off the
   * last batch.
   */
  inFlight?: number;
}

const IN_FLIGHT = 2;

/** What the rule sees of a bucket: how many items wait and since when the oldest waits. */
export interface BucketState {
  key: string;
  size: number;
  oldestAt: number;
  /** The bucket's own cap (e.g. its model's), applied under the global one. */
  maxBatchSize?: number;
}

export type BatchDecision = { fire: string; take: number } | { fire: null; wakeAt: number | null };

/**
 * The batching rule, a pure function: which bucket to run next. A full bucket goes first (oldest first among full
 * ones), then a bucket whose oldest item has waited `maxWaitMs`; otherwise nothing now, and when to look again.
 */
export function nextBatch(buckets: readonly BucketState[], now: number, rules: BatchRules): BatchDecision {
  let full: BucketState | undefined;
  let due: BucketState | undefined;
  let wakeAt: number | null = null;
  for (const b of buckets) {
    if (b.size === 0) continue;
    const cap = Math.min(rules.maxBatchSize, b.maxBatchSize ?? rules.maxBatchSize);
    if (b.size >= cap) {
      if (!full || b.oldestAt < full.oldestAt) full = b;
    } else if (now - b.oldestAt >= rules.maxWaitMs) {
      if (!due || b.oldestAt < due.oldestAt) due = b;
    } else {
      const at = b.oldestAt + rules.maxWaitMs;
      wakeAt = wakeAt === null ? at : Math.min(wakeAt, at);
    }
  }
  const pick = full ?? due;
  if (pick) return { fire: pick.key, take: Math.min(pick.size, rules.maxBatchSize, pick.maxBatchSize ?? Infinity) };
  return { fire: null, wakeAt };
}

interface Waiting<I, O> {
  item: I;
  at: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

interface Bucket<I, O> {
  items: Waiting<I, O>[];
  maxBatchSize?: number;
}

/**
 * Gathers items from many callers (jobs) into batches per bucket (model, version and input shape) and hands at most
 * `inFlight` batches at a time to `run` (a runtime that runs as many as it has sessions and queues the rest, ready).
 * While batches run, the next ones fill up, so under load they grow to `maxBatchSize` on their own. `run` returns one
 * result per item, in order; if it throws, every item of that batch gets the error.
 */
export class MicroBatcher<I, O> {
  private readonly buckets = new Map<string, Bucket<I, O>>();
  private running = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;

  constructor(
    private readonly run: (bucket: string, items: I[]) => Promise<O[]>,
    private readonly rules: BatchRules,
    private readonly onBatch?: (info: { bucket: string; size: number; waitedMs: number[] }) => void,
  ) {}

  submit(bucket: string, item: I, maxBatchSize?: number): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let b = this.buckets.get(bucket);
      if (!b) {
        b = { items: [], maxBatchSize };
        this.buckets.set(bucket, b);
      }
      b.items.push({ item, at: Date.now(), resolve, reject });
      this.pump();
    });
  }

  /** Items waiting for a batch, all buckets together. */
  get pending(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.items.length;
    return n;
  }

  private pump(): void {
    while (this.running < (this.rules.inFlight ?? IN_FLIGHT) && this.fireOne());
  }

  /** Fires the next batch the rules allow; false when there is none now. */
  private fireOne(): boolean {
    const now = Date.now();
    const states = [...this.buckets].map(([key, b]) => ({
      key,
      size: b.items.length,
      oldestAt: b.items[0]?.at ?? now,
      maxBatchSize: b.maxBatchSize,
    }));
    const decision = nextBatch(states, now, this.rules);
    if (decision.fire === null) {
      if (decision.wakeAt !== null) this.wakeAt(decision.wakeAt);
      else this.clearTimer();
      return false;
    }
    const bucket = this.buckets.get(decision.fire)!;
    const batch = bucket.items.splice(0, decision.take);
    if (bucket.items.length === 0) this.buckets.delete(decision.fire);
    this.running++;
    this.onBatch?.({ bucket: decision.fire, size: batch.length, waitedMs: batch.map((w) => now - w.at) });
    this.run(
      decision.fire,
      batch.map((w) => w.item),
    )
      .then(
        (results) => batch.forEach((w, i) => w.resolve(results[i])),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      )
      .finally(() => {
        this.running--;
        this.pump();
      });
    return true;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private wakeAt(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.pump();
      },
      Math.max(0, at - Date.now()),
    );
  }
}
