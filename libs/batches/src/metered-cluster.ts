import {
  ClusterRateLimitedError,
  isClusterError,
  type ClusterCancelOutcome,
  type ClusterClient,
  type ClusterStatusReport,
} from '@baton/cluster';
import { metrics } from '@baton/observability';

type Call = 'submit' | 'status' | 'cancel';

/** How a cluster call ended, as the metric names it: the three error classes the orchestrator acts on, or ok. */
export function clusterCallResult(error?: unknown): string {
  if (error === undefined) return 'ok';
  if (error instanceof ClusterRateLimitedError) return 'rate_limited';
  if (isClusterError(error)) return error.retryable ? 'transient' : 'rejected';
  return 'transient';
}

/** A cluster client that counts its calls by result (429s included) and times them; behaviour unchanged. */
export class MeteredClusterClient implements ClusterClient {
  readonly cancel?: (clusterJobId: string) => Promise<ClusterCancelOutcome>;

  constructor(private readonly inner: ClusterClient) {
    const cancel = inner.cancel?.bind(inner);
    if (cancel) this.cancel = (id) => this.timed('cancel', () => cancel(id));
  }

  submit(params: Record<string, unknown>, clientToken: string): Promise<string> {
    return this.timed('submit', () => this.inner.submit(params, clientToken));
  }

  status(clusterJobId: string): Promise<ClusterStatusReport> {
    return this.timed('status', () => this.inner.status(clusterJobId));
  }

  private async timed<T>(call: Call, fn: () => Promise<T>): Promise<T> {
    const end = metrics.clusterCallDuration.startTimer({ call });
    try {
      const value = await fn();
      metrics.clusterCalls.inc({ call, result: clusterCallResult() });
      return value;
    } catch (error) {
      metrics.clusterCalls.inc({ call, result: clusterCallResult(error) });
      throw error;
    } finally {
      end();
    }
  }
}
