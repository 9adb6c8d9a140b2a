import type { ClusterJobStatus } from '../cluster.client';
import { RateWindow } from './rate-window';

/** What the simulator received and answered, for tests to assert on. */
export interface SimulatorStats {
  /** The seed in use: pass it back as `seed` to replay a run. */
  seed: number | string;
  /** Every POST /jobs that arrived, whatever it was answered. */
  submissionsReceived: number;
  /** Distinct clientTokens among well-formed submissions received. */
  distinctClientTokens: number;
  /** Cluster jobs started. With dedupe on it never exceeds distinctClientTokens (equal once every token got through). */
  jobsCreated: number;
  /** Submissions answered with an existing job because their token was seen before. */
  duplicatesSuppressed: number;
  /** Most jobs created for one token: above 1 means a double submit got through (only possible with dedupe off). */
  maxJobsPerToken: number;
  statusReads: number;
  /** Status reads answered 404 because the job was too fresh to see. */
  unknownReads: number;
  /** 429s sent, and how many of them came from the token bucket (the rest are random). */
  sent429: number;
  sent429ByRateLimit: number;
  sent5xx: number;
  timeouts: number;
  cancelsReceived: number;
  cancelsApplied: number;
  /** Callback deliveries answered 2xx, tries that failed, and completions whose callback was never delivered. */
  callbacksSent: number;
  callbacksFailed: number;
  callbacksDropped: number;
  /** Most POST /jobs received, and most answered 2xx, in any 1-second window. */
  maxSubmissionsPerSecond: number;
  maxAcceptedPerSecond: number;
  /** Jobs by the status they read now (fresh jobs still hidden by unknownForMs included). */
  jobsByStatus: Record<ClusterJobStatus, number>;
}

type Counter = Exclude<
  keyof SimulatorStats,
  | 'seed'
  | 'distinctClientTokens'
  | 'maxJobsPerToken'
  | 'maxSubmissionsPerSecond'
  | 'maxAcceptedPerSecond'
  | 'jobsByStatus'
>;

/** The mutable counters behind SimulatorStats. */
export class StatsRecorder {
  private counts = new Map<Counter, number>();
  private tokens = new Set<string>();
  private jobsPerToken = new Map<string, number>();
  private received = new RateWindow();
  private accepted = new RateWindow();
  private maxPerToken = 0;

  add(counter: Counter, n = 1): void {
    this.counts.set(counter, (this.counts.get(counter) ?? 0) + n);
  }

  submissionReceived(now: number): void {
    this.add('submissionsReceived');
    this.received.record(now);
  }

  tokenSeen(clientToken: string): void {
    this.tokens.add(clientToken);
  }

  submissionAccepted(now: number): void {
    this.accepted.record(now);
  }

  jobCreated(clientToken: string): void {
    this.add('jobsCreated');
    const n = (this.jobsPerToken.get(clientToken) ?? 0) + 1;
    this.jobsPerToken.set(clientToken, n);
    this.maxPerToken = Math.max(this.maxPerToken, n);
  }

  snapshot(seed: number | string, jobsByStatus: Record<ClusterJobStatus, number>): SimulatorStats {
    const c = (k: Counter) => this.counts.get(k) ?? 0;
    return {
      seed,
      submissionsReceived: c('submissionsReceived'),
      distinctClientTokens: this.tokens.size,
      jobsCreated: c('jobsCreated'),
      duplicatesSuppressed: c('duplicatesSuppressed'),
      maxJobsPerToken: this.maxPerToken,
      statusReads: c('statusReads'),
      unknownReads: c('unknownReads'),
      sent429: c('sent429'),
      sent429ByRateLimit: c('sent429ByRateLimit'),
      sent5xx: c('sent5xx'),
      timeouts: c('timeouts'),
      cancelsReceived: c('cancelsReceived'),
      cancelsApplied: c('cancelsApplied'),
      callbacksSent: c('callbacksSent'),
      callbacksFailed: c('callbacksFailed'),
      callbacksDropped: c('callbacksDropped'),
      maxSubmissionsPerSecond: this.received.max,
      maxAcceptedPerSecond: this.accepted.max,
      jobsByStatus,
    };
  }
}
