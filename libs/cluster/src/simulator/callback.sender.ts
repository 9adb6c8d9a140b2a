import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTER_SIGNATURE_HEADER, signClusterCallback } from '../callback.signature';
import type { SimulatorCallbacks } from './simulator.config';
import type { StatsRecorder } from './simulator.stats';

/**
 * Delivers completion callbacks as a cluster would: signed, a few tries with doubling waits, then given up.
 * Deliveries run in the background; close() abandons those still under way.
 */
export class CallbackSender {
  private controller = new AbortController();
  private inFlight = new Set<Promise<void>>();

  constructor(private readonly stats: StatsRecorder) {}

  send(jobUuid: string, status: 'SUCCEEDED' | 'FAILED', callbacks: SimulatorCallbacks): void {
    const delivery = this.deliver(JSON.stringify({ jobUuid, status }), callbacks, this.controller.signal);
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Resolves once every delivery under way has finished or given up (tests wait on it). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** Abandons deliveries under way; later sends go out again (used by reset). */
  abandon(): void {
    this.controller.abort();
    this.controller = new AbortController();
  }

  private async deliver(body: string, callbacks: SimulatorCallbacks, signal: AbortSignal): Promise<void> {
    const signature = signClusterCallback(body, callbacks.secret);
    for (let attempt = 1; attempt <= callbacks.attempts; attempt++) {
      if (attempt > 1) {
        try {
          await sleep(callbacks.retryDelayMs * 2 ** (attempt - 2), undefined, { signal });
        } catch {
          return; // abandoned
        }
      }
      if (signal.aborted) return;
      if (await this.tryOnce(body, signature, callbacks, signal)) {
        this.stats.add('callbacksSent');
        return;
      }
      if (signal.aborted) return;
      this.stats.add('callbacksFailed');
    }
    this.stats.add('callbacksDropped');
  }

  private async tryOnce(
    body: string,
    signature: string,
    cb: SimulatorCallbacks,
    signal: AbortSignal,
  ): Promise<boolean> {
    try {
      const response = await fetch(cb.url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', [CLUSTER_SIGNATURE_HEADER]: signature },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(cb.timeoutMs)]),
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }
}
