interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Merges calls made close together into one batch call: items submitted in the same turn of the event loop (and any
 * that arrive while `maxConcurrent` batches are already running) go out together, up to `maxBatch` a call. Under load
 * batches grow by themselves; alone, an item waits only for the next turn. `run` returns one result per item, in
 * order; if it throws, every item of that batch gets the error.
 */
export class Coalescer<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly opts: { maxBatch: number; maxConcurrent: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.waiting.length > 0 && this.running < this.opts.maxConcurrent) {
      const batch = this.waiting.splice(0, this.opts.maxBatch);
      this.running++;
      this.run(batch.map((w) => w.item))
        .then(
          (results) => batch.forEach((w, i) => w.resolve(results[i])),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          this.running--;
          if (this.waiting.length > 0) this.schedule();
        });
    }
  }
}
