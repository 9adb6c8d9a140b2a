// `node dist/bench/load.bench.js`: the API under load with autocannon, against the API as production runs it (its
// own process; no worker, so only the HTTP path is measured).
//   1. Status reads (GET /v1/tasks/:id over 1,000 stored tasks) as an even stream of 1,000 requests/s: the target is
//      p99 under 5 ms on this machine. The stream is LOAD_STREAMS (default 10) staggered connections (bench/paced.ts);
//      autocannon's own per-connection rate, which sends each second's quota in a burst, is measured too, as the
//      harsher "bursts" step. The load generator shares the machine's two cores with the API, Postgres and Redis, so
//      the API's own view is printed beside it: the share of those reads its /metrics histogram saw done within 5 ms.
//   2. Status reads and submits (POST /v1/tasks) at rising concurrency: throughput and p50/p99/p99.9.
// Settings: LOAD_SECONDS (per step, default 10), LOAD_EVEN_SECONDS (the even stream, default 30), LOAD_RATE (default
// 1000), LOAD_STREAMS (default 10).
import autocannon from 'autocannon';
import { asProcesses, tenantKey, type Deployment } from './deployment';
import { paced, type PacedRequest, type PacedResult } from './paced';
import { intFromEnv, table } from './support';

const SECONDS = intFromEnv('LOAD_SECONDS', 10);
/** The target's step runs longer: a p99 over 30,000 reads, not 10,000. */
const EVEN_SECONDS = intFromEnv('LOAD_EVEN_SECONDS', 30);
const RATE = intFromEnv('LOAD_RATE', 1000);
const STATUS_TARGET_P99_MS = 5;
/** Connections of the even stream, each sending RATE/STREAMS requests in its own staggered second. */
const STREAMS = intFromEnv('LOAD_STREAMS', 10);

/** One step's figures: an even stream's, or autocannon's own run's, under a name. */
interface Step extends Omit<PacedResult, 'streams'> {
  name: string;
  connections: number;
}

async function run(
  name: string,
  opts: {
    url: string;
    connections: number;
    rate?: number;
    request: () => PacedRequest;
    headers: Record<string, string>;
  },
): Promise<Step> {
  const result = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: SECONDS,
    // A rate per connection: each sends its quota back to back at the start of each second (bursts; see the top).
    ...(opts.rate ? { connectionRate: Math.ceil(opts.rate / opts.connections), ignoreCoordinatedOmission: true } : {}),
    headers: opts.headers,
    requests: [{ setupRequest: (req) => ({ ...req, ...opts.request() }) }],
  });
  return {
    name,
    connections: opts.connections,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** GET /v1/tasks/:id answers counted by the API's latency histogram: all, and those within 5 ms. */
async function serverCounts(url: string): Promise<{ all: number; within5ms: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = (le: string) => {
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('baton_http_request_duration_seconds_bucket{') &&
          l.includes('route="/v1/tasks/:id"') &&
          l.includes('method="GET"') &&
          l.includes('status="200"') &&
          l.includes(`le="${le}"`),
      );
    return line ? Number(line.split(' ').pop()) : 0;
  };
  return { all: series('+Inf'), within5ms: series('0.005') };
}

async function main(): Promise<void> {
  console.log(`load bench: ${SECONDS} s per step; the API in its own process, logs off, limits raised`);
  const d: Deployment = await asProcesses(
    { LOG_LEVEL: 'silent', RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000', BACKLOG_LIMIT: '100000000' },
    { worker: false },
  );
  try {
    const key = await tenantKey(d);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const res = await fetch(`${d.url}/v1/tasks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ handler: 'noop' }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    let n = 0;
    const status = () => ({ method: 'GET' as const, path: `/v1/tasks/${ids[n++ % ids.length]}` });
    const submit = () => ({
      method: 'POST' as const,
      path: '/v1/tasks',
      body: JSON.stringify({ handler: 'noop', payload: { n: n++ } }),
    });

    // A cold process compiles its hot paths during its first seconds of load: warm it up, unreported.
    await run('warm-up', { url: d.url, connections: 16, request: status, headers });
    const steps: Step[] = [];
    const before = await serverCounts(d.url);
    const even = await paced({
      url: d.url,
      rate: RATE,
      seconds: EVEN_SECONDS,
      streams: STREAMS,
      request: status,
      headers,
    });
    steps.push({ name: `status @ ${RATE}/s, even`, connections: even.streams, ...even });
    const after = await serverCounts(d.url);
    const serverShare = (after.within5ms - before.within5ms) / (after.all - before.all);
    steps.push(
      await run(`status @ ${RATE}/s, bursts`, { url: d.url, connections: 10, rate: RATE, request: status, headers }),
    );
    for (const c of [1, 8, 32, 64])
      steps.push(await run('status, max', { url: d.url, connections: c, request: status, headers }));
    for (const c of [1, 8, 32, 64])
      steps.push(await run('submit, max', { url: d.url, connections: c, request: submit, headers }));

    console.log(
      table(
        ['step', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'non-2xx', 'errors'],
        steps.map((s) => [s.name, s.connections, s.rps, s.p50, s.p99, s.p999, s.non2xx, s.errors]),
      ),
    );
    const fixed = steps[0];
    const verdict = fixed.p99 < STATUS_TARGET_P99_MS ? 'meets target' : 'below target';
    console.log(`\nstatus reads at ${RATE}/s: p99 ${fixed.p99} ms (target < ${STATUS_TARGET_P99_MS} ms: ${verdict})`);
    console.log(`the API's own histogram: ${(serverShare * 100).toFixed(2)}% of those reads done within 5 ms`);
    console.log(JSON.stringify({ seconds: SECONDS, rate: RATE, streams: STREAMS, serverShare, steps }));
    if (steps.some((s) => s.errors > 0 || s.non2xx > 0)) throw new Error('some requests failed');
  } finally {
    await d.close();
  }
}

main().catch((error: unknown) => {
  console.error('load bench failed:', error);
  process.exitCode = 1;
});
