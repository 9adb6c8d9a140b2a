/**
 * The one way Baton reaches the external cluster. Adapters (HTTP, the in-process simulator behind HTTP) implement
 * it; the orchestrator depends on nothing else. Each call maps to one outcome or one typed error from
 * cluster.errors.ts: adapters never retry, because the queues own retries, backoff and rate limits.
 */
export interface ClusterClient {
  /**
   * Starts one cluster job for `params`. The same `clientToken` again returns the same id instead of a second job
   * (where the cluster honours tokens), so a retried submit is safe.
   */
  submit(params: Record<string, unknown>, clientToken: string): Promise<string>;
  /** Where the job stands. UNKNOWN: the cluster does not know the id (yet): normal for a while after submit. */
  status(clusterJobId: string): Promise<ClusterStatusReport>;
  /** Asks the cluster to stop the job; absent where the adapter cannot cancel at all. */
  cancel?(clusterJobId: string): Promise<ClusterCancelOutcome>;
}

/** The cluster's own job states, plus UNKNOWN for an id it does not (yet) know. */
export const CLUSTER_JOB_STATUSES = ['SUBMITTED', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
export type ClusterJobStatus = (typeof CLUSTER_JOB_STATUSES)[number];
export type ClusterStatus = ClusterJobStatus | 'UNKNOWN';

export interface ClusterStatusReport {
  status: ClusterStatus;
  /** The cluster's reason, when it gives one (usually with FAILED). */
  error?: string;
}

/**
 * cancelled: the cluster accepted the request (the job then ends FAILED or finishes anyway; keep polling).
 * unsupported: this cluster never cancels (405/501); stop asking.
 * unknown: 404, the cluster does not know the id (too fresh, or it answers 404 for "cannot cancel").
 */
export type ClusterCancelOutcome = 'cancelled' | 'unsupported' | 'unknown';

export const isClusterJobStatus = (value: unknown): value is ClusterJobStatus =>
  typeof value === 'string' && (CLUSTER_JOB_STATUSES as readonly string[]).includes(value);

export const isTerminalClusterStatus = (status: ClusterStatus): status is 'SUCCEEDED' | 'FAILED' =>
  status === 'SUCCEEDED' || status === 'FAILED';
