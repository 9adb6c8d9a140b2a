// An even stream of requests with autocannon, for the load and soak benchmarks.
//
// autocannon's own rate limit is not a pace: each connection sends back to back until it has made its quota for the
// second, then waits for the next, so 10 connections at 100/s are ten concurrent bursts at the start of each second.
// An even stream is `streams` autocannon instances of one connection each, their seconds staggered evenly; latencies
// are taken from every response (fractions of a millisecond, no coordinated-omission correction: nothing is scheduled
// ahead).
import autocannon from 'autocannon';
import { percentile } from './support';

export interface PacedRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
}

export interface PacedResult {
  streams: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  non2xx: number;
  errors: number;
}

export async function paced(opts: {
  url: string;
  rate: number;
  seconds: number;
  streams: number;
  request: () => PacedRequest;
  headers: Record<string, string>;
}): Promise<PacedResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  const streams = Math.min(opts.streams, opts.rate);
  const runs: Promise<autocannon.Result>[] = [];
  for (let i = 0; i < streams; i++) {
    runs.push(
      new Promise((resolve, reject) => {
        const instance = autocannon(
          {
            url: opts.url,
            connections: 1,
            connectionRate: Math.ceil(opts.rate / streams),
            ignoreCoordinatedOmission: true,
            duration: opts.seconds,
            headers: opts.headers,
            // autocannon writes Content-Length into the headers it is given: each request gets its own, and a read
            // drops the body a submit left on the (reused) request object.
            requests: [
              { setupRequest: (req) => ({ ...req, body: undefined, ...opts.request(), headers: { ...opts.headers } }) },
            ],
          },
          (err, result) => (err ? reject(err as Error) : resolve(result)),
        );
        instance.on('response', (_client, status: number, _bytes, ms: number) => {
          if (status >= 200 && status < 300) latencies.push(ms);
          else non2xx++;
        });
      }),
    );
    await new Promise((r) => setTimeout(r, 1000 / streams));
  }
  const results = await Promise.all(runs);
  const at = (p: number) => Math.round(percentile(latencies, p / 100) * 100) / 100;
  return {
    streams,
    rps: Math.round(results.reduce((sum, r) => sum + r.requests.average, 0)),
    p50: at(50),
    p99: at(99),
    p999: at(99.9),
    non2xx,
    errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
  };
}
