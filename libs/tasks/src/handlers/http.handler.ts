import { assertPublicUrl, PrivateAddressError, type ErrorDetail } from '@baton/core';
import { PermanentJobError } from '@baton/queue';
import { isPlainObject, TransientTaskError, type TaskContext, type TaskHandler } from '../task-handler';

export interface HttpPayload {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs?: number;
}

export interface HttpHandlerOptions {
  maxTimeoutMs: number;
  allowPrivateNetworks: boolean;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;

/** Status codes worth another attempt: the server may answer differently later. */
export const isRetryableStatus = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500;

/**
 * Calls a URL with a timeout. 2xx succeeds with the status and (truncated) body; 408, 429 and 5xx, timeouts and
 * connection errors are retried; any other status fails the task at once. Redirects are not followed.
 */
export function httpHandler(options: HttpHandlerOptions): TaskHandler<HttpPayload> {
  return {
    name: 'http',
    validate: (payload) => validateHttpPayload(payload, options.maxTimeoutMs),
    run: (payload, ctx) => callUrl(payload, ctx, options),
  };
}

function validateHttpPayload(payload: unknown, maxTimeoutMs: number): ErrorDetail[] {
  if (!isPlainObject(payload)) return [{ field: 'payload', message: 'must be an object like {"url": "https://..."}' }];
  const errors: ErrorDetail[] = [];
  let url: URL | undefined;
  try {
    url = typeof payload.url === 'string' ? new URL(payload.url) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    errors.push({ field: 'payload.url', message: 'must be an absolute http(s) URL' });
  }
  if (
    payload.method !== undefined &&
    !(typeof payload.method === 'string' && METHODS.includes(payload.method.toUpperCase()))
  ) {
    errors.push({ field: 'payload.method', message: `must be one of ${METHODS.join(', ')}` });
  }
  if (payload.headers !== undefined) {
    const ok = isPlainObject(payload.headers) && Object.values(payload.headers).every((v) => typeof v === 'string');
    if (!ok) errors.push({ field: 'payload.headers', message: 'must be an object of string values' });
  }
  const t = payload.timeoutMs;
  if (t !== undefined && (!Number.isInteger(t) || (t as number) < 1 || (t as number) > maxTimeoutMs)) {
    errors.push({ field: 'payload.timeoutMs', message: `must be an integer from 1 to ${maxTimeoutMs}` });
  }
  return errors;
}

async function callUrl(payload: HttpPayload, ctx: TaskContext, options: HttpHandlerOptions): Promise<unknown> {
  const url = new URL(payload.url);
  try {
    await assertPublicUrl(url, options.allowPrivateNetworks);
  } catch (error) {
    if (error instanceof PrivateAddressError) throw new PermanentJobError(error.message, 'private_address');
    throw new TransientTaskError(`cannot resolve ${url.hostname}: ${(error as Error).message}`, 'dns');
  }
  const timeoutMs = Math.min(payload.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.maxTimeoutMs);
  const method = (payload.method ?? (payload.body === undefined ? 'GET' : 'POST')).toUpperCase();
  const hasBody = payload.body !== undefined && method !== 'GET' && method !== 'HEAD';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...payload.headers },
      body: hasBody ? JSON.stringify(payload.body) : undefined,
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const name = (error as Error).name;
    if (name === 'TimeoutError')
      throw new TransientTaskError(`no answer from ${url.host} within ${timeoutMs} ms`, 'timeout');
    throw new TransientTaskError(`request to ${url.host} failed: ${(error as Error).message}`, 'connection');
  }
  const body = await readLimited(response);
  await ctx.log(`${method} ${url.origin}${url.pathname} answered ${response.status}`);
  if (response.status >= 200 && response.status < 300) return { status: response.status, body };
  const message = `${method} ${url.host} answered ${response.status}`;
  if (isRetryableStatus(response.status)) throw new TransientTaskError(message, `http_${response.status}`);
  throw new PermanentJobError(message, `http_${response.status}`);
}

/** Reads at most MAX_BODY_BYTES; JSON bodies are parsed, others kept as text. */
async function readLimited(response: Response): Promise<unknown> {
  if (!response.body) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    chunks.push(Buffer.from(value));
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
