import type { ClusterJobStatus } from '../cluster.client';
import { drawDuration, drawUuid, seededRandom } from './seeded-random';
import type { SimulatorConfig, StuckState } from './simulator.config';

/** One simulated cluster job. Its whole future is drawn at submit; its status is read off the clock. */
export interface SimJob {
  jobUuid: string;
  clientToken: string;
  params: Record<string, unknown>;
  createdAt: number;
  /** Before this, reads answer 404 (eventual consistency). */
  visibleAt: number;
  startsAt: number;
  endsAt: number;
  outcome: 'SUCCEEDED' | 'FAILED';
  error?: string;
  /** Set when the job never ends: it stays here once it gets there. */
  stuckIn?: StuckState;
  cancelledAt?: number;
  /** A draw in [0, 1) compared with callbacks.dropRate at completion (drawn now so runs replay). */
  callbackDraw: number;
}

export interface JobView {
  status: ClusterJobStatus;
  error?: string;
}

const FAILURES = ['exit code 1', 'out of memory (exit code 137)', 'node lost', 'input file not found', 'segfault'];
export const CANCELLED_ERROR = 'cancelled by client';

/** The simulator's jobs, by id and by client token. */
export class JobStore {
  private jobs = new Map<string, SimJob>();
  private tokens = new Map<string, SimJob[]>();

  get(jobUuid: string): SimJob | undefined {
    return this.jobs.get(jobUuid);
  }

  /** The first job made for this token (what dedupe answers with). */
  forToken(clientToken: string): SimJob | undefined {
    return this.tokens.get(clientToken)?.[0];
  }

  /**
   * A new job whose fate is drawn from (seed, token, how many jobs the token already has): the same seed gives the
   * same job for the same token whatever order submissions arrive in.
   */
  create(
    clientToken: string,
    params: Record<string, unknown>,
    config: SimulatorConfig,
    seed: string,
    now: number,
  ): SimJob {
    const earlier = this.tokens.get(clientToken) ?? [];
    const random = seededRandom(seed, 'job', clientToken, earlier.length);
    const jobUuid = drawUuid(random);
    // Every draw is taken whatever the config says, so changing one rate does not reshuffle the others.
    const stuck = random() < config.stuckRate;
    const stuckDraw = random();
    const failed = random() < config.failRate;
    const queueMs = drawDuration(config.queueMs, random);
    const runMs = drawDuration(config.runMs, random);
    const error = FAILURES[Math.floor(random() * FAILURES.length)];
    const callbackDraw = random();
    const stuckIn: StuckState =
      config.stuckIn === 'random' ? (stuckDraw < 0.5 ? 'SUBMITTED' : 'RUNNING') : config.stuckIn;
    const job: SimJob = {
      jobUuid,
      clientToken,
      params,
      createdAt: now,
      visibleAt: now + config.unknownForMs,
      startsAt: now + queueMs,
      endsAt: now + queueMs + runMs,
      outcome: failed ? 'FAILED' : 'SUCCEEDED',
      ...(failed ? { error } : {}),
      ...(stuck ? { stuckIn } : {}),
      callbackDraw,
    };
    this.jobs.set(jobUuid, job);
    this.tokens.set(clientToken, [...earlier, job]);
    return job;
  }

  /** Cancels a job that has not ended; false when it already had. */
  cancel(job: SimJob, now: number): boolean {
    if (isTerminal(viewJob(job, now).status)) return false;
    job.cancelledAt = now;
    return true;
  }

  countByStatus(now: number): Record<ClusterJobStatus, number> {
    const counts: Record<ClusterJobStatus, number> = { SUBMITTED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0 };
    for (const job of this.jobs.values()) counts[viewJob(job, now).status]++;
    return counts;
  }

  all(): IterableIterator<SimJob> {
    return this.jobs.values();
  }
}

/** Where a job stands at `now`. */
export function viewJob(job: SimJob, now: number): JobView {
  if (job.cancelledAt !== undefined && job.cancelledAt <= now) return { status: 'FAILED', error: CANCELLED_ERROR };
  if (job.stuckIn === 'SUBMITTED' || now < job.startsAt) return { status: 'SUBMITTED' };
  if (job.stuckIn === 'RUNNING' || now < job.endsAt) return { status: 'RUNNING' };
  return job.error === undefined ? { status: job.outcome } : { status: job.outcome, error: job.error };
}

const isTerminal = (status: ClusterJobStatus) => status === 'SUCCEEDED' || status === 'FAILED';
