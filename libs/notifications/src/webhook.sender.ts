import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isPrivateAddress } from '@baton/core';
import { parseRetryAfter } from '@baton/cluster';
import { isDelivered, type AttemptResult } from './retry';

export interface WebhookSenderOptions {
  /** From sending the request to the last byte read of the reply. */
  timeoutMs: number;
  /** Reply bodies are read up to this, then the connection is dropped. */
  maxResponseBytes: number;
  allowPrivate: boolean;
}

class PrivateTargetError extends Error {
  override name = 'PrivateTargetError';
}

/**
 * DNS resolution that refuses private addresses, used as the socket's own lookup: the address checked is the address
 * connected to, so a name cannot resolve to a public address for the check and a private one for the connection.
 */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const usable = allowPrivate ? addresses : addresses.filter((a) => !isPrivateAddress(a.address));
      if (usable.length === 0 || usable.length < addresses.length) {
        const bad = addresses.find((a) => isPrivateAddress(a.address))?.address ?? '?';
        return callback(new PrivateTargetError(`${hostname} resolves to a private address (${bad})`), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, usable);
      callback(null, usable[0].address, usable[0].family);
    });
  };
}

/**
 * POSTs one webhook. Never throws: every outcome (2xx, other statuses, timeout, refused connection, private address)
 * comes back as an AttemptResult. Redirects are not followed (a 3xx is a failed attempt); the reply body is read up to
 * a limit.
 */
export function sendWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  opts: WebhookSenderOptions,
): Promise<AttemptResult> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return Promise.resolve({ ok: false, permanent: true, error: 'invalid URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.resolve({ ok: false, permanent: true, error: 'URL must be http(s)' });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host))
    return Promise.resolve({ ok: false, permanent: true, error: `${host} is a private address` });

  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(opts.allowPrivate),
      // One connection per attempt: a receiver that hangs cannot hold a pooled socket for the next one.
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ ok: false, error: `no answer within ${opts.timeoutMs} ms` });
    }, opts.timeoutMs);
    req.on('error', (err) =>
      finish(
        err instanceof PrivateTargetError
          ? { ok: false, permanent: true, error: err.message }
          : { ok: false, error: `connection failed: ${(err as NodeJS.ErrnoException).code ?? err.message}` },
      ),
    );
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const retryAfterMs = parseRetryAfter(headerOf(res, 'retry-after'));
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => {
        const response = Buffer.concat(chunks).subarray(0, opts.maxResponseBytes).toString('utf8');
        const ok = isDelivered(status);
        finish({
          ok,
          statusCode: status,
          retryAfterMs,
          response,
          error: ok
            ? undefined
            : `answered ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}`,
        });
      };
      res.on('data', (chunk: Buffer) => {
        if (size >= opts.maxResponseBytes) return;
        chunks.push(chunk);
        size += chunk.length;
        if (size >= opts.maxResponseBytes) {
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    req.end(body);
  });
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
