import { randomInt } from 'node:crypto';
import { CallbackSender } from './callback.sender';
import { seededRandom, type Random } from './seeded-random';
import {
  DEFAULT_SIMULATOR_CONFIG,
  mergeSimulatorConfig,
  type FaultTarget,
  type SimulatorConfig,
  type SimulatorOptions,
} from './simulator.config';
import { JobStore, viewJob, type SimJob } from './simulator.jobs';
import { StatsRecorder, type SimulatorStats } from './simulator.stats';
import { TokenBucket } from './token-bucket';

/** What to answer: a reply, or nothing at all for `hangMs` and then a dropped connection. */
export type SimOutcome = { reply: SimReply } | { hangMs: number };

export interface SimReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A random fault: a reply (429, 5xx) or a hang, which may have taken effect before the connection drops. */
type Fault = { reply: SimReply } | { hangMs: number; applied: boolean };

const reply = (status: number, body?: unknown, headers?: Record<string, string>): { reply: SimReply } => ({
  reply: { status, body, headers },
});

/**
 * The cluster's behaviour, without the HTTP: submit, status and cancel decide an outcome from the config, the seeded
 * draws and the clock. The server in simulator.server.ts only parses requests and writes these outcomes.
 */
export class ClusterSimulator {
  private config: SimulatorConfig;
  private requests!: Random;
  private bucket: TokenBucket | undefined;
  private jobs = new JobStore();
  private recorder = new StatsRecorder();
  private timers = new Map<string, NodeJS.Timeout>();
  private sender = new CallbackSender(this.recorder);

  constructor(
    options: SimulatorOptions = {},
    /** Monotonic ms: the simulator only measures intervals. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.config = withSeed(mergeSimulatorConfig(DEFAULT_SIMULATOR_CONFIG, options));
    this.restartDraws();
  }

  /** Changes behaviour from now on (jobs already submitted keep their drawn fate). Returns the config in force. */
  configure(changes: SimulatorOptions): SimulatorConfig {
    const before = this.config;
    this.config = withSeed(mergeSimulatorConfig(before, changes));
    if ('seed' in changes) this.restartDraws();
    else if (changes.rateLimit !== undefined) this.bucket = this.newBucket();
    return this.currentConfig();
  }

  currentConfig(): SimulatorConfig {
    return structuredClone(this.config);
  }

  stats(): SimulatorStats {
    return this.recorder.snapshot(this.config.seed ?? 0, this.jobs.countByStatus(this.clock()));
  }

  /** Forgets every job, counter and pending callback; the config stays, and the seeded draws start over. */
  reset(): void {
    this.stopTimers();
    this.sender.abandon();
    this.jobs = new JobStore();
    this.recorder = new StatsRecorder();
    this.sender = new CallbackSender(this.recorder);
    this.restartDraws();
  }

  /** Resolves when no callback delivery is under way. */
  callbacksIdle(): Promise<void> {
    return this.sender.idle();
  }

  close(): void {
    this.stopTimers();
    this.sender.abandon();
  }

  submit(body: unknown): SimOutcome {
    const now = this.clock();
    this.recorder.submissionReceived(now);
    const submission = parseSubmission(body);
    if (typeof submission === 'string') return reply(400, { error: submission });
    this.recorder.tokenSeen(submission.clientToken);
    const fault = this.drawFault('submit');
    const waitMs = this.bucket?.take(now) ?? 0;
    if (waitMs > 0) {
      this.recorder.add('sent429ByRateLimit');
      return this.tooManyRequests(waitMs);
    }
    if (fault && 'hangMs' in fault) {
      // A call that times out may still have taken effect: the client cannot tell, which is what retries must survive.
      if (fault.applied) this.accept(submission, now);
      return fault;
    }
    return fault ?? this.accept(submission, now);
  }

  status(jobUuid: string): SimOutcome {
    const now = this.clock();
    this.recorder.add('statusReads');
    const fault = this.drawFault('status');
    if (fault) return fault;
    const job = this.visibleJob(jobUuid, now);
    if (!job) return reply(404, { error: 'unknown job' });
    return reply(200, { jobUuid, ...viewJob(job, now) });
  }

  cancel(jobUuid: string): SimOutcome {
    const now = this.clock();
    this.recorder.add('cancelsReceived');
    const fault = this.drawFault('cancel');
    if (fault && 'hangMs' in fault) {
      if (fault.applied) this.cancelNow(jobUuid, now);
      return fault;
    }
    return fault ?? this.cancelNow(jobUuid, now);
  }

  private accept(submission: Submission, now: number): SimOutcome {
    this.recorder.submissionAccepted(now);
    const existing = this.config.dedupeByClientToken ? this.jobs.forToken(submission.clientToken) : undefined;
    if (existing) {
      this.recorder.add('duplicatesSuppressed');
      return reply(200, { jobUuid: existing.jobUuid });
    }
    const job = this.jobs.create(submission.clientToken, submission.params, this.config, String(this.config.seed), now);
    this.recorder.jobCreated(submission.clientToken);
    if (!job.stuckIn)
      this.timers.set(
        job.jobUuid,
        unrefTimer(() => this.completed(job), job.endsAt - now),
      );
    return reply(202, { jobUuid: job.jobUuid });
  }

  private cancelNow(jobUuid: string, now: number): SimOutcome {
    if (!this.config.cancel) return reply(405, { error: 'cancel is not supported' }, { allow: 'GET' });
    const job = this.visibleJob(jobUuid, now);
    if (!job) return reply(404, { error: 'unknown job' });
    if (this.jobs.cancel(job, now)) {
      this.recorder.add('cancelsApplied');
      clearTimeout(this.timers.get(jobUuid));
      this.completed(job);
    }
    return reply(202, { jobUuid, ...viewJob(job, now) });
  }

  /** A job reached its end (or was cancelled): tell the callback URL, unless this callback is one that gets lost. */
  private completed(job: SimJob): void {
    this.timers.delete(job.jobUuid);
    const callbacks = this.config.callbacks;
    if (!callbacks) return;
    if (job.callbackDraw < callbacks.dropRate) return this.recorder.add('callbacksDropped');
    // The drawn outcome, not the clock: a timer may fire a hair before endsAt.
    this.sender.send(job.jobUuid, job.cancelledAt === undefined ? job.outcome : 'FAILED', callbacks);
  }

  private visibleJob(jobUuid: string, now: number): SimJob | undefined {
    const job = this.jobs.get(jobUuid);
    if (job && now < job.visibleAt) {
      this.recorder.add('unknownReads');
      return undefined;
    }
    return job;
  }

  /**
   * The random faults of one request. Five draws are taken for every request, whatever the config, so one seed gives
   * one sequence of faults for one sequence of requests even when rates change mid-run.
   */
  private drawFault(target: FaultTarget): Fault | undefined {
    const [hang, applied, limited, failed, which] = [1, 2, 3, 4, 5].map(() => this.requests());
    const c = this.config;
    if (!c.faultTargets.includes(target)) return undefined;
    if (hang < c.timeoutRate) {
      this.recorder.add('timeouts');
      return { hangMs: c.hangMs, applied: applied < c.timeoutAppliedRate };
    }
    if (limited < c.burst429Rate) return this.tooManyRequests(c.retryAfterSec * 1000);
    if (failed < c.errorRate) {
      this.recorder.add('sent5xx');
      return which < 0.5
        ? reply(500, { error: 'internal error' })
        : reply(503, { error: 'unavailable' }, { 'retry-after': '1' });
    }
    return undefined;
  }

  private tooManyRequests(waitMs: number): { reply: SimReply } {
    this.recorder.add('sent429');
    const seconds = Math.ceil(waitMs / 1000);
    // A date has whole seconds only: round up so the client never comes back early.
    const retryAfter =
      this.config.retryAfterFormat === 'http-date'
        ? new Date(Math.ceil((Date.now() + waitMs) / 1000) * 1000).toUTCString()
        : String(seconds);
    return reply(429, { error: 'rate limited' }, { 'retry-after': retryAfter });
  }

  private restartDraws(): void {
    this.requests = seededRandom(String(this.config.seed), 'requests');
    this.bucket = this.newBucket();
  }

  private newBucket(): TokenBucket | undefined {
    const limit = this.config.rateLimit;
    return limit ? new TokenBucket(limit.perSecond, limit.burst ?? limit.perSecond, this.clock()) : undefined;
  }

  private stopTimers(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

interface Submission {
  params: Record<string, unknown>;
  clientToken: string;
}

function parseSubmission(body: unknown): Submission | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be {params, clientToken}';
  const { params, clientToken } = body as Record<string, unknown>;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return 'params must be an object';
  if (typeof clientToken !== 'string' || clientToken.length < 1 || clientToken.length > 255) {
    return 'clientToken must be a string of 1 to 255 characters';
  }
  return { params: params as Record<string, unknown>, clientToken };
}

/** An unseeded simulator still has a seed, drawn here and reported in stats, so any run can be replayed. */
function withSeed(config: SimulatorConfig): SimulatorConfig {
  return config.seed === undefined ? { ...config, seed: randomInt(2 ** 31) } : config;
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fn, Math.max(0, ms));
  timer.unref();
  return timer;
}
