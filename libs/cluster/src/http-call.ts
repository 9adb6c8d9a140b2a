import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

// Keep-alive pools: one connection per concurrent call, reused, so a call costs no handshake. node:http rather than
// fetch: a status check is tiny, and fetch's streams and abort signals cost more CPU than the call itself.
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 }),
};

/**
 * One HTTP call, no redirects followed (a 3xx is returned as it is), the reply body read up to a limit. Rejects on a
 * connection error, or with code `ETIMEDOUT_BATON` when the whole exchange takes longer than `timeoutMs`.
 */
export function httpCall(url: string, opts: HttpCallOptions): Promise<HttpReply> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const payload = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const headers: Record<string, string | number> = { ...opts.headers };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = payload.length;
  }
  return new Promise<HttpReply>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | null, reply?: HttpReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(reply!);
    };
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      { method: opts.method, headers, agent: agents[secure ? 'https:' : 'http:'] },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (chunk: Buffer) => {
          if (truncated) return;
          size += chunk.length;
          chunks.push(chunk);
          if (size > opts.maxBodyBytes) {
            truncated = true;
            done(); // first: destroying the reply emits 'aborted' at once
            res.destroy();
          }
        });
        const done = () => {
          const retryAfter = res.headers['retry-after'];
          finish(null, {
            status: res.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : null,
            body: { text: Buffer.concat(chunks).subarray(0, opts.maxBodyBytes).toString('utf8'), truncated },
          });
        };
        res.on('end', done);
        res.on('error', (error) => finish(error));
        res.on('aborted', () => finish(Object.assign(new Error('reply aborted'), { code: 'ECONNRESET' })));
      },
    );
    const timer = setTimeout(() => {
      finish(Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT_BATON' }));
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (error) => finish(error));
    req.end(payload);
  });
}
