// Pieces the benchmarks share: a clock, percentiles, a bounded-concurrency runner, a keep-alive HTTP client, printing.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

/** Milliseconds since the returned function was made, from the monotonic clock (not moved by NTP). */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => performance.now() - start;
}

/**
 * The p-th percentile (0..1) of `values`, interpolating linearly between the two nearest ranks: the same definition
 * as Postgres' percentile_cont, so figures computed here and in SQL compare. NaN for no values.
 */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = (sorted.length - 1) * Math.min(1, Math.max(0, p));
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export interface Summary {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  return {
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: values.length ? max : Number.NaN,
    count: values.length,
  };
}

/**
 * Runs `fn(i)` for i = 0..n-1 with `k` workers pulling the next index from a shared counter, so exactly `k` calls are
 * in flight until the work runs out (a closed loop, like k clients each sending their next request on a response).
 * The first failure stops every worker from taking more and is rethrown once the calls in flight have settled.
 */
export async function runPool(k: number, n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(k, n)) }, worker));
  if (failure) throw failure.error;
}

/** Polls `fn` every `everyMs` until it returns true; fails when `stalledMs` pass without `progress()` changing. */
export async function pollUntil(
  fn: () => Promise<boolean>,
  opts: { everyMs: number; stalledMs: number; progress: () => number; what: string },
): Promise<void> {
  let last = opts.progress();
  let lastChange = Date.now();
  for (;;) {
    if (await fn()) return;
    const now = Date.now();
    const current = opts.progress();
    if (current !== last) {
      last = current;
      lastChange = now;
    } else if (now - lastChange > opts.stalledMs) {
      throw new Error(`no progress for ${opts.stalledMs} ms waiting for ${opts.what} (stuck at ${current})`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs));
  }
}

/** An integer setting from the environment, or `fallback`; anything else is an error, not a silent default. */
export function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Rounds for display and for the JSON line: 2 decimals below 100, whole numbers above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100;
}

/** A plain text table with right-aligned columns after the first. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? String(round(c)) : c)))];
  const widths = header.map((_, col) => Math.max(...cells.map((r) => (r[col] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, col) => (col === 0 ? c.padEnd(widths[col]) : c.padStart(widths[col]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export interface HttpReply {
  status: number;
  body: string;
}

/**
 * A JSON client on undici's Pool with at most `maxSockets` keep-alive connections: every request of a closed loop of
 * that many clients reuses its own connection. The clients share the cores with the service they measure, so the
 * lighter they are, the more of the machine is left to it: undici's Pool cost about 0.11 ms of CPU per request here
 * against 0.19 for node:http with a keep-alive agent (20,000 POSTs from 32 clients), and its `dispatch` (a handler
 * given the status and the body's chunks) less again than `request`, which wraps every body in a stream with its own
 * promise. close() ends the connections so the process can exit.
 */
export function httpClient(baseUrl: string, maxSockets: number) {
  const pool = new Pool(baseUrl, { connections: maxSockets });
  return {
    post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
      return new Promise((resolve, reject) => {
        let status = 0;
        const chunks: Buffer[] = [];
        pool.dispatch(
          {
            method: 'POST',
            path,
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          },
          {
            onConnect: () => undefined,
            onHeaders: (statusCode) => ((status = statusCode), true),
            onData: (chunk) => (chunks.push(chunk), true),
            onComplete: () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }),
            onError: reject,
          },
        );
      });
    },
    close(): void {
      void pool.destroy();
    },
  };
}

/**
 * RSS moves by tens of MiB as V8 grows and shrinks its heap, so two single samples say little. The trend is the
 * least-squares slope over the samples after warm-up: flat when it adds up to under 10% of the mean over the run
 * (bench:soak).
 */
export function rssVerdict(app: string, samples: (readonly [number, number])[]): string {
  const n = samples.length;
  const mean = (f: (s: readonly [number, number]) => number) => samples.reduce((a, s) => a + f(s), 0) / n;
  const mx = mean(([x]) => x);
  const my = mean(([, y]) => y);
  const sxx = samples.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : samples.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  const span = n > 1 ? samples[n - 1][0] - samples[0][0] : 0;
  const drift = slope * span;
  const ys = samples.map(([, y]) => y);
  const verdict = Math.abs(drift) < 0.1 * my ? 'flat' : drift > 0 ? 'GROWING' : 'shrinking';
  return (
    `${app}: RSS ${Math.min(...ys)}–${Math.max(...ys)} MiB over minutes ${samples[0]?.[0]}–${samples[n - 1]?.[0]}, ` +
    `mean ${Math.round(my)}; trend ${slope.toFixed(2)} MiB/min, ${drift.toFixed(1)} MiB over the run ` +
    `(${((drift / my) * 100).toFixed(1)}% of the mean): ${verdict}`
  );
}

/** The cluster simulator as the benchmarks run it: zero latency, no faults. */
export const QUIET_CLUSTER = {
  queueMs: 0,
  runMs: 0,
  failRate: 0,
  stuckRate: 0,
  errorRate: 0,
  burst429Rate: 0,
  timeoutRate: 0,
};
