import { Job, SpanKind, type JobsOptions, type Queue, type Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

/** A Redis connection, single node or cluster (every fair key of a queue shares the prefix's hash tag). */
type RedisLike = Redis | Cluster;
import type { Logger } from '@baton/observability';
import { AUDIT, CYCLE, ENQUEUE, HOLDS, REMOVE, STATS } from './fair.scripts';
import {
  lanePriority,
  laneScore,
  workerWindow,
  type FairDefaults,
  type FairQueueName,
  type TenantLimits,
} from './fair.rules';

/**
 * How far in the future a job waiting for admission is parked in BullMQ's delayed set. BullMQ holds the job (so a
 * crash never loses it, and flows keep their parent links), and only the dispatcher's promote lets it run. The audit
 * puts a parked job back in its lane if its lane entry was lost; the park itself is a last resort, long enough never
 * to matter, short enough for BullMQ's delayed scores (timestamp × 4096 < 2^53).
 */
export const PARK_MS = 30 * 86_400_000;
/** Lane scores count from here, leaving a double's precision for a sub-millisecond sequence. */
const LANE_EPOCH = Date.UTC(2026, 0, 1);
/** Picks per dispatch cycle (one Lua call); a cycle that fills it is followed at once by another. */
const PICKS_PER_CYCLE = 64;
/** Fields per tenant in the STATS script's answer. */
const STATS_FIELDS = 7;
/** Jobs that end within this time of each other free their slots in one cycle. */
const RELEASE_GATHER_MS = 2;
/** Without news (a release, an enqueue), each process still runs a cycle this often: the safety net. */
const TICK_MS = 250;
/** A worker's declared capacity lapses unless renewed within this time (its process died). */
const CAPACITY_TTL_MS = 30_000;

export interface FairEntry {
  jobId: string;
  tenantId: string;
  /** 1 high … 10 low. */
  priority: number;
  /** Not before this instant (ms epoch); absent or past: ready now. */
  readyAt?: number;
  /**
   * The BullMQ job to add when admitted, for a job not added yet (tasks: one add instead of a parked add and a
   * promote). Absent: the job is in BullMQ already, parked, and admission promotes it (batch items, whose flow
   * needs them under their parent from the start).
   */
  job?: { name: string; data: unknown; opts: JobsOptions };
}

export interface TenantShare {
  tenantId: string;
  waiting: number;
  inFlight: number;
  /** Jobs finished per second over the last full minute. */
  perSecond: number;
  /** Age of the job at the head of the tenant's lane (0 when none waits). */
  headWaitingMs: number;
}

export interface FairQueueOptions {
  /** Admitted jobs at most across tenants: a number, or a multiple of the live workers' declared concurrency. */
  window: number | 'workers';
  /** With `window: 'workers'`: how many times their concurrency (default 2, see workerWindow). */
  windowFactor?: number;
  defaults: FairDefaults;
  /** Ms of waiting that one priority level is worth (ageing). */
  agingMs: number;
}

interface FairCommands {
  fairEnqueue(key: string, ...args: (string | number)[]): Promise<[number, number]>;
  fairCycle(key: string, ...args: (string | number)[]): Promise<[string[], string]>;
  fairRemove(key: string, ...args: (string | number)[]): Promise<number>;
  fairAudit(key: string, ...args: (string | number)[]): Promise<[number, string[], string[]]>;
  fairHolds(key: string, ...args: (string | number)[]): Promise<number[]>;
  fairStats(key: string, ...args: (string | number)[]): Promise<[(string | number)[], number, number]>;
}
type FairRedis = RedisLike & FairCommands;

/**
 * Weighted fair admission in front of one BullMQ queue. Jobs wait in per-tenant lanes in Redis (as the job to add,
 * or as the id of a job added parked); dispatch cycles (a Lua script, atomic across every process) admit them into the queue in
 * order of each tenant's virtual time, which advances by 1/weight per admission, within the queue's window and each
 * tenant's own in-flight cap and rate. A finished job releases its slot and triggers the next cycle.
 */
export class FairQueue {
  private readonly redis: FairRedis;
  readonly base: string;
  private readonly cfgPrefix: string;
  private releases: string[] = [];
  private running?: Promise<void>;
  private again = false;
  private timer?: NodeJS.Timeout;
  private releaseTimer?: NodeJS.Timeout;
  private ticker?: NodeJS.Timeout;
  private capacityTimer?: NodeJS.Timeout;
  private windowCache = { value: 0, at: 0 };
  private seq = 0;

  constructor(
    redis: RedisLike,
    readonly queue: Queue,
    prefix: string,
    readonly name: FairQueueName,
    private readonly opts: FairQueueOptions,
    private readonly log: Logger,
  ) {
    this.redis = defineScripts(redis);
    this.base = `${prefix}:fair:${name}`;
    this.cfgPrefix = `${prefix}:fair-cfg:`;
  }

  /** BullMQ options that park a job until the dispatcher admits it. */
  static parked(): { delay: number } {
    return { delay: PARK_MS };
  }

  /**
   * Puts jobs in their tenants' lanes (the job to add at admission, or the id of a job added to BullMQ parked), then
   * runs a cycle if the window has room. A full window needs none: the next job to end frees a slot and cycles.
   */
  async enqueue(entries: FairEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const window = await this.window();
    const trace = this.traceEnqueue();
    let room = 0;
    try {
      for (let i = 0; i < entries.length; i += 1000) {
        const args: (string | number)[] = [];
        for (const e of entries.slice(i, i + 1000)) {
          const readyAt = e.readyAt && e.readyAt > now ? e.readyAt : 0;
          // Scores are ms since LANE_EPOCH plus a sub-ms sequence, so jobs enqueued in the same ms keep their order.
          this.seq = (this.seq + 1) % 1000;
          const score = laneScore(e.priority, (readyAt || now) - LANE_EPOCH, this.opts.agingMs) + this.seq / 1000;
          const job =
            e.job && trace.metadata && !e.job.opts.telemetry
              ? { ...e.job, opts: { ...e.job.opts, telemetry: { metadata: trace.metadata } } }
              : e.job;
          args.push(e.jobId, e.tenantId, score, readyAt, job ? JSON.stringify(job) : '');
        }
        [, room] = await this.redis.fairEnqueue(`${this.base}:ready`, this.base, window, ...args);
      }
    } finally {
      trace.end();
    }
    if (room > 0) this.kick();
  }

  /**
   * With BullMQ's telemetry on, an `enqueue <queue>` span in the caller's trace, and its context as BullMQ's
   * propagation metadata: a job that waits in a lane carries it, so whichever process and cycle admits it later, the
   * job's own spans continue the request's trace (BullMQ prefers a job's own metadata to the adder's context).
   */
  private traceEnqueue(): { metadata?: string; end(): void } {
    const telemetry = this.queue.opts.telemetry;
    if (!telemetry) return { end: () => undefined };
    const { tracer, contextManager } = telemetry;
    const active: unknown = contextManager.active();
    const span = tracer.startSpan(`enqueue ${this.queue.name}`, { kind: SpanKind.PRODUCER }, active);
    return { metadata: contextManager.getMetadata(span.setSpanOnContext(active)), end: () => span.end() };
  }

  /** A retry: the job's slot is freed and it waits in its lane again from `readyAt`. */
  async requeue(entry: FairEntry): Promise<void> {
    await this.cycle(0, 0, [entry.jobId]);
    await this.enqueue([entry]);
  }

  /** Takes jobs out of their lanes before admission (cancelled); admitted ones are released when they end. */
  async remove(jobIds: string[]): Promise<void> {
    if (jobIds.length > 0) await this.redis.fairRemove(`${this.base}:ready`, this.base, ...jobIds);
  }

  /**
   * A job finished for good: its slot is freed in the next cycle, which runs within RELEASE_GATHER_MS, so the jobs
   * that end together share one cycle.
   */
  release(jobId: string): void {
    this.releases.push(jobId);
    this.releaseTimer ??= setTimeout(() => {
      this.releaseTimer = undefined;
      this.kick();
    }, RELEASE_GATHER_MS);
  }

  /** For each id: whether it waits in a lane or is admitted (so a missing BullMQ job is not lost work). */
  async holds(jobIds: string[]): Promise<boolean[]> {
    if (jobIds.length === 0) return [];
    const flags = await this.redis.fairHolds(`${this.base}:ready`, this.base, ...jobIds);
    return flags.map((f) => f === 1);
  }

  /** Runs a cycle soon; calls that come while one runs are folded into one more. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pump()
      .catch((err: unknown) => this.log.warn({ queue: this.name, err }, 'fair dispatch cycle failed; retrying'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Waits for the cycle under way, if any (tests, shutdown). */
  async settle(): Promise<void> {
    if (this.releaseTimer) {
      clearTimeout(this.releaseTimer);
      this.releaseTimer = undefined;
      this.kick();
    }
    while (this.running) await this.running;
  }

  /**
   * Starts this process's part in dispatch: a safety-net cycle every TICK_MS, and, for a window made of worker
   * capacity, this worker's declared concurrency, renewed while it lives.
   */
  start(workerId: string, concurrency: number): void {
    this.ticker = setInterval(() => this.kick(), TICK_MS);
    if (this.opts.window === 'workers') {
      const declare = () =>
        void this.redis
          .hset(`${this.base}:capacity`, workerId, `${concurrency}|${Date.now() + CAPACITY_TTL_MS}`)
          .then(() => {
            this.windowCache.at = 0;
            this.kick();
          })
          .catch(() => undefined);
      declare();
      this.capacityTimer = setInterval(declare, CAPACITY_TTL_MS / 3);
    }
  }

  async stop(workerId?: string): Promise<void> {
    clearInterval(this.ticker);
    clearInterval(this.capacityTimer);
    clearTimeout(this.timer);
    clearTimeout(this.releaseTimer);
    if (workerId && this.opts.window === 'workers')
      await this.redis.hdel(`${this.base}:capacity`, workerId).catch(() => undefined);
    await this.settle();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const releases = this.releases;
      this.releases = [];
      const [picked, next] = await this.cycle(await this.window(), PICKS_PER_CYCLE, releases).catch(
        (error: unknown) => {
          this.releases.push(...releases); // not applied: kept for the next cycle
          throw error;
        },
      );
      const toAdd: { name: string; data: unknown; opts: JobsOptions }[] = [];
      const toPromote: string[] = [];
      for (let i = 0; i < picked.length; i += 3) {
        if (picked[i + 2]) toAdd.push(JSON.parse(picked[i + 2]) as (typeof toAdd)[number]);
        else toPromote.push(picked[i + 1]);
      }
      // A crash here loses the admission, not the work: Postgres still holds it, and the reconcilers re-enqueue it.
      if (toAdd.length > 0) await this.queue.addBulk(toAdd);
      await Promise.all(toPromote.map((id) => this.promote(id)));
      this.follow(Number(next));
      if (picked.length / 3 < PICKS_PER_CYCLE && this.releases.length === 0) return;
    }
  }

  /** Lets an admitted job run. A job that is not parked any more was woken another way, or is gone (released). */
  private async promote(jobId: string): Promise<void> {
    try {
      await new Job(this.queue, 'fair', {}, {}, jobId).promote();
    } catch {
      const state = await this.queue.getJobState(jobId).catch(() => 'active');
      if (state === 'unknown' || state === 'completed' || state === 'failed') this.releases.push(jobId);
    }
  }

  /** Runs a cycle when the next rate-limited tenant or later job is due. */
  private follow(next: number): void {
    if (next < 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(1, next - Date.now()));
    this.timer.unref?.();
  }

  /** One run of the CYCLE script: frees `releases`, then admits up to `want` jobs within `window`. */
  private cycle(window: number, want: number, releases: string[]): Promise<[string[], string]> {
    const { defaults } = this.opts;
    return this.redis.fairCycle(
      `${this.base}:ready`,
      this.base,
      this.cfgPrefix,
      this.name,
      window,
      defaults.weight,
      defaults.maxInFlight,
      defaults.ratePerSecond,
      want,
      ...releases,
    );
  }

  /**
   * Frees a job's slot when the worker sees it end for good: completed, or failed with no attempt left. A failure
   * that BullMQ retries keeps its slot (the job is still in flight), unless `onRetry` takes the retry over.
   */
  attach(worker: Worker, onRetry?: (job: Job) => void): void {
    worker.on('completed', (job) => this.release(job.id!));
    worker.on('failed', (job) => {
      if (!job?.id) return;
      if (job.finishedOn) this.release(job.id);
      else onRetry?.(job);
    });
  }

  private async window(): Promise<number> {
    if (this.opts.window !== 'workers') return this.opts.window;
    const now = Date.now();
    if (now - this.windowCache.at < 1000) return this.windowCache.value;
    const declared = Object.entries(await this.redis.hgetall(`${this.base}:capacity`)).map(
      ([worker, v]) => [worker, ...v.split('|').map(Number)] as const,
    );
    const live = declared.filter(([, , expires]) => expires > now).map(([, concurrency]) => concurrency);
    // Declarations of workers that died lapse; they are dropped so the hash does not grow with every restart.
    const lapsed = declared.filter(([, , expires]) => expires <= now).map(([worker]) => worker);
    if (lapsed.length > 0) await this.redis.hdel(`${this.base}:capacity`, ...lapsed);
    this.windowCache = { value: workerWindow(live, this.opts.windowFactor), at: now };
    return this.windowCache.value;
  }

  /**
   * Repairs what crashes leave: slots of jobs that ended unseen are freed, admitted jobs still parked are promoted,
   * and parked jobs in no lane are put back in their tenant's lane. Returns what it did.
   */
  async audit(strandedAfterMs = 30_000): Promise<{ released: number; promoted: number; relaned: number }> {
    const parkedFrom = (Date.now() + PARK_MS / 2) * 4096;
    const [released, stranded, orphans] = await this.redis.fairAudit(
      `${this.base}:ready`,
      this.base,
      this.queue.toKey(''),
      this.queue.keys.delayed,
      parkedFrom,
      strandedAfterMs,
    );
    await Promise.all(stranded.map((id) => this.promote(id)));
    const jobs = (await Promise.all(orphans.map((id) => this.queue.getJob(id)))).filter((j): j is Job => !!j);
    await this.enqueue(
      jobs.map((j) => ({
        jobId: j.id!,
        tenantId: String((j.data as { tenantId?: string }).tenantId ?? 'unknown'),
        priority: lanePriority(j),
      })),
    );
    if (released + stranded.length + jobs.length > 0)
      this.log.warn(
        { queue: this.name, released, promoted: stranded.length, relaned: jobs.length },
        'fair dispatch repaired',
      );
    this.kick();
    return { released, promoted: stranded.length, relaned: jobs.length };
  }

  /** When a lane's head job was enqueued: from its spec (not yet in BullMQ) or from BullMQ (parked). */
  private async enqueuedAt(jobId: string, spec: string): Promise<number | undefined> {
    if (!jobId) return undefined;
    if (spec) return (JSON.parse(spec) as { opts: JobsOptions }).opts.timestamp;
    return (await this.queue.getJob(jobId).catch(() => undefined))?.timestamp;
  }

  /** Jobs waiting for admission, all tenants together (backpressure). */
  async waitingCount(): Promise<number> {
    const [flat] = await this.redis.fairStats(`${this.base}:ready`, this.base);
    let sum = 0;
    for (let i = 1; i < flat.length; i += STATS_FIELDS) sum += Number(flat[i]);
    return sum;
  }

  /** Per-tenant waiting, in flight and throughput, and how many jobs wait for a later time. */
  async stats(now = Date.now()): Promise<{ tenants: TenantShare[]; later: number }> {
    const [flat, later] = await this.redis.fairStats(`${this.base}:ready`, this.base);
    const tenants: TenantShare[] = [];
    const since: Promise<number | undefined>[] = [];
    for (let i = 0; i < flat.length; i += STATS_FIELDS) {
      tenants.push({
        tenantId: String(flat[i]),
        waiting: Number(flat[i + 1]),
        inFlight: Number(flat[i + 2]),
        perSecond: Math.round((Number(flat[i + 3]) / 60) * 100) / 100,
        headWaitingMs: 0,
      });
      since.push(this.enqueuedAt(String(flat[i + 5]), String(flat[i + 6])));
    }
    (await Promise.all(since)).forEach((at, i) => {
      if (at !== undefined) tenants[i].headWaitingMs = Math.max(0, now - at);
    });
    return { tenants, later: Number(later) };
  }
}

/** Writes a tenant's own settings where every dispatcher reads them (absent fields fall back to the defaults). */
export async function publishTenantLimits(
  redis: RedisLike,
  prefix: string,
  tenantId: string,
  limits: TenantLimits,
): Promise<void> {
  const key = `${prefix}:fair-cfg:${tenantId}`;
  const fields: Record<string, string> = {};
  if (limits.weight !== undefined) fields.weight = String(limits.weight);
  for (const [queue, q] of Object.entries(limits.queues ?? {})) {
    if (q?.maxInFlight !== undefined) fields[`max:${queue}`] = String(q.maxInFlight);
    if (q?.ratePerSecond !== undefined) fields[`rate:${queue}`] = String(q.ratePerSecond);
  }
  const multi = redis.multi().del(key);
  if (Object.keys(fields).length > 0) multi.hset(key, fields);
  await multi.exec();
}

function defineScripts(redis: RedisLike): FairRedis {
  const r = redis as FairRedis;
  if (typeof r.fairCycle !== 'function') {
    redis.defineCommand('fairEnqueue', { numberOfKeys: 1, lua: ENQUEUE });
    redis.defineCommand('fairCycle', { numberOfKeys: 1, lua: CYCLE });
    redis.defineCommand('fairRemove', { numberOfKeys: 1, lua: REMOVE });
    redis.defineCommand('fairAudit', { numberOfKeys: 1, lua: AUDIT });
    redis.defineCommand('fairStats', { numberOfKeys: 1, lua: STATS });
    redis.defineCommand('fairHolds', { numberOfKeys: 1, lua: HOLDS });
  }
  return r;
}
