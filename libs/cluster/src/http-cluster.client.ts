import type { ClusterCancelOutcome, ClusterClient, ClusterStatusReport } from './cluster.client';
import { isClusterJobStatus } from './cluster.client';
import {
  ClusterRateLimitedError,
  ClusterRejectedError,
  ClusterTransientError,
  type ClusterError,
} from './cluster.errors';
import { httpCall, type HttpReply } from './http-call';
import { jsonObjectOf } from './response-body';
import { parseRetryAfter } from './retry-after';

export interface HttpClusterClientOptions {
  /** CLUSTER_URL: the base that API.md's paths hang off, e.g. `http://cluster:4000` or `https://gw/cluster/v2`. */
  baseUrl: string;
  /** Per call, from sending the request to the last byte of the reply. */
  timeoutMs?: number;
  /** Replies longer than this are cut (and a 2xx that is cut counts as unreadable). */
  maxBodyBytes?: number;
  /** Sent with every call, e.g. a gateway's Authorization. */
  headers?: Record<string, string>;
}

type Reply = HttpReply;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * The cluster contract of API.md over HTTP. One request per call, no retries, no redirects followed: every call
 * ends in one outcome or one ClusterError, and the orchestrator's queues decide what happens next.
 */
export class HttpClusterClient implements ClusterClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly headers: Record<string, string>;

  constructor(options: HttpClusterClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`cluster URL must be http(s), got ${url.protocol}`);
    }
    this.base = url.href.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.headers = { accept: 'application/json', ...options.headers };
  }

  async submit(params: Record<string, unknown>, clientToken: string): Promise<string> {
    const reply = await this.call('POST', '/jobs', { params, clientToken }, 'submit');
    if (reply.status === 200 || reply.status === 201 || reply.status === 202) {
      const jobUuid = jsonObjectOf(reply.body)?.jobUuid;
      if (typeof jobUuid === 'string' && jobUuid !== '') return jobUuid;
    }
    // A 2xx we cannot read may still have created the job: transient, so a retry with the token finds it.
    throw clusterErrorFor('submit', reply.status, reply.retryAfter, reply.body.text);
  }

  async status(clusterJobId: string): Promise<ClusterStatusReport> {
    const reply = await this.call('GET', `/jobs/${encodeURIComponent(clusterJobId)}`, undefined, 'status');
    // Eventual consistency: a fresh id reads 404 for a while. The caller decides when UNKNOWN has lasted too long.
    if (reply.status === 404) return { status: 'UNKNOWN' };
    if (reply.status === 200) {
      const body = jsonObjectOf(reply.body);
      const sameJob = body?.jobUuid === undefined || body.jobUuid === clusterJobId;
      if (body && sameJob && isClusterJobStatus(body.status)) {
        return typeof body.error === 'string' && body.error !== ''
          ? { status: body.status, error: body.error }
          : { status: body.status };
      }
    }
    throw clusterErrorFor('status', reply.status, reply.retryAfter, reply.body.text);
  }

  async cancel(clusterJobId: string): Promise<ClusterCancelOutcome> {
    const reply = await this.call('POST', `/jobs/${encodeURIComponent(clusterJobId)}/cancel`, undefined, 'cancel');
    if (reply.status >= 200 && reply.status < 300) return 'cancelled';
    if (reply.status === 404) return 'unknown';
    if (reply.status === 405 || reply.status === 501) return 'unsupported';
    throw clusterErrorFor('cancel', reply.status, reply.retryAfter, reply.body.text);
  }

  private async call(method: string, path: string, json: unknown, what: string): Promise<Reply> {
    try {
      return await httpCall(this.base + path, {
        method,
        headers: this.headers,
        json,
        timeoutMs: this.timeoutMs,
        maxBodyBytes: this.maxBodyBytes,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ETIMEDOUT_BATON') {
        throw new ClusterTransientError(`cluster ${what}: no answer within ${this.timeoutMs} ms`, 'timeout');
      }
      throw new ClusterTransientError(`cluster ${what}: ${describeNetworkError(error)}`, 'connection');
    }
  }
}

/**
 * The error for a reply that is not the call's success: 429 waits as told; 408, 425, 5xx and unreadable 2xx are
 * transient; 404 (where the call gives it no meaning) is transient too, since a gateway can answer it while a
 * cluster restarts; every other status, 3xx included, is a rejection that asking again would not change.
 */
export function clusterErrorFor(
  what: string,
  status: number,
  retryAfter: string | null,
  bodyText = '',
  now = Date.now(),
): ClusterError {
  const message = `cluster ${what} answered ${status}${snippet(bodyText)}`;
  if (status === 429) return new ClusterRateLimitedError(message, parseRetryAfter(retryAfter, now));
  if (status >= 200 && status < 300) {
    return new ClusterTransientError(`cluster ${what}: unreadable ${status} reply`, 'bad_response', status);
  }
  if (status === 404 || status === 408 || status === 425 || status >= 500) {
    return new ClusterTransientError(message, `http_${status}`, status, parseRetryAfter(retryAfter, now));
  }
  return new ClusterRejectedError(message, `http_${status}`, status);
}

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return '';
  return `: ${oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine}`;
}

/** The socket error's code (ECONNREFUSED, ECONNRESET, a TLS error) with its message. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
