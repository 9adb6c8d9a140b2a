import { Agent, type Dispatcher } from 'undici';
import type { BoundedBody } from './response-body';

export interface HttpReply {
  status: number;
  retryAfter: string | null;
  body: BoundedBody;
}

export interface HttpCallOptions {
  method: string;
  headers: Record<string, string>;
  /** Sent as JSON when defined. */
  json?: unknown;
  /** From sending the request to the last byte of the reply (a reply that stalls half-way is a timeout too). */
  timeoutMs: number;
  /** Replies longer than this are cut, and the connection dropped. */
  maxBodyBytes: number;
}

// Keep-alive pools, one per origin: a connection per concurrent call, reused, so a call costs no handshake. undici
// rather than node:http (or fetch, whose streams cost more than a tiny status check): a batch item makes two calls,
// and node:http's request and reply objects were a tenth of the worker's CPU per item in the batches bench.
// undici's own per-phase timeouts are off: the one deadline is the caller's, for the whole exchange.
const agent = new Agent({ connections: 256, headersTimeout: 0, bodyTimeout: 0 });

/**
 * One HTTP call, no redirects followed (a 3xx is returned as it is), the reply body read up to a limit. Rejects on a
 * connection error, or with code `ETIMEDOUT_BATON` when the whole exchange takes longer than `timeoutMs`.
 */
export async function httpCall(url: string, opts: HttpCallOptions): Promise<HttpReply> {
  const target = new URL(url);
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const headers = body === undefined ? opts.headers : { ...opts.headers, 'content-type': 'application/json' };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  try {
    const reply = await agent.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: opts.method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: deadline.signal,
    });
    const text = await readBounded(reply.body, opts.maxBodyBytes);
    const retryAfter = reply.headers['retry-after'];
    return { status: reply.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, body: text };
  } catch (error) {
    if (deadline.signal.aborted) {
      throw Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT_BATON' });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The reply's text up to `max` bytes; past that the rest is not read, and the stream (its connection) is dropped. */
function readBounded(stream: Dispatcher.ResponseData['body'], max: number): Promise<BoundedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const text = (truncated: boolean): BoundedBody => ({
      text: Buffer.concat(chunks).subarray(0, max).toString('utf8'),
      truncated,
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > max) {
        resolve(text(true)); // first: destroying the stream may emit an error, which then changes nothing
        stream.destroy();
      }
    });
    stream.on('end', () => resolve(text(false)));
    stream.on('error', reject);
  });
}
