import type { Cluster, Redis } from 'ioredis';

/**
 * Paces submissions to the cluster across every worker process: each one reserves the next free slot, `interval` ms
 * after the previous, on Redis's clock. Slots are spaced 15% wider than 1/rate: the delay between a reservation and
 * the request reaching the cluster varies (event-loop and network jitter), and that margin keeps even 150 ms of it
 * from fitting more than `rate` submissions into any one second as the cluster sees them.
 */
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nextAt)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(at + interval), 'PX', math.ceil(at + interval - now) + 1000)
return at - now`;

export const submitInterval = (perSecond: number): number => (1000 / perSecond) * 1.15;
/** A submission that wakes later than this after its slot gives the slot up and takes a new one. */
export const MAX_SLOT_LATENESS_MS = 20;

export interface SubmitGate {
  /** Waits until this submission's slot comes. */
  acquire(): Promise<void>;
}

export const openGate: SubmitGate = { acquire: () => Promise.resolve() };

export class RedisSubmitGate implements SubmitGate {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly key: string,
    private readonly perSecond: number,
  ) {}

  /**
   * Waits for a slot. A process too busy to send on time (its event loop stalled under load) would send late, close
   * behind the next slot's submission: so a late wake gives its slot up and takes the next free one.
   */
  async acquire(): Promise<void> {
    for (;;) {
      const asked = Date.now();
      const waitMs = Number(await this.redis.eval(RESERVE, 1, this.key, String(submitInterval(this.perSecond))));
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      if (Date.now() - (asked + waitMs) <= MAX_SLOT_LATENESS_MS) return;
    }
  }
}
