/**
 * The most events seen in any window of `windowMs`: each event is counted with those of the window that ends at it,
 * which finds the busiest window without fixing where windows start.
 */
export class RateWindow {
  private times: number[] = [];
  private head = 0;
  private busiest = 0;

  constructor(private readonly windowMs = 1000) {}

  record(now: number): void {
    while (this.head < this.times.length && this.times[this.head] <= now - this.windowMs) this.head++;
    this.times.push(now);
    this.busiest = Math.max(this.busiest, this.times.length - this.head);
    // Drop the consumed prefix now and then instead of shifting on every event.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  get max(): number {
    return this.busiest;
  }
}
