// `npm run bench:soak`: a steady load on the API and worker processes, as production runs them, for SOAK_MINUTES
// (default 10). Each minute it reports throughput and latency of that minute, each process's resident memory (RSS,
// from /proc) and the tasks still waiting, so a leak or a growing backlog shows as a trend. The verdict fits a line
// to each process's RSS after the first (warm-up) minute: flat when its drift over the run is under 10% of the mean.
// Settings: SOAK_MINUTES (default 10), SOAK_RATE (requests/s, default 500), SOAK_SUBMIT_SHARE (% submits, default 20).
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { asProcesses, tenantKey } from './deployment';
import { paced, type PacedRequest } from './paced';
import { intFromEnv, rssVerdict, table } from './support';

const MINUTES = intFromEnv('SOAK_MINUTES', 10);
const RATE = intFromEnv('SOAK_RATE', 500);
const SUBMIT_SHARE = intFromEnv('SOAK_SUBMIT_SHARE', 20, 0);
/** Staggered connections of the even stream (bench/paced.ts). */
const STREAMS = 10;

function rssMiB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return line ? Math.round(Number(line[1]) / 1024) : NaN;
}

interface Minute {
  minute: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  rss: Record<string, number>;
  waiting: number;
  done: number;
}

async function main(): Promise<void> {
  console.log(
    `soak: ${MINUTES} min at ${RATE} requests/s (${SUBMIT_SHARE}% task submits, the rest status reads); ` +
      'API and worker in their own processes, logs off',
  );
  const d = await asProcesses({
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
    BACKLOG_LIMIT: '100000000',
  });
  const pg = new Pool({ connectionString: d.databaseUrl, max: 1 });
  try {
    const key = await tenantKey(d);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const res = await fetch(`${d.url}/v1/tasks`, { method: 'POST', headers, body: '{"handler":"noop"}' });
      ids.push(((await res.json()) as { id: string }).id);
    }
    let n = 0;
    const request = (): PacedRequest =>
      n++ % 100 < SUBMIT_SHARE
        ? { method: 'POST', path: '/v1/tasks', body: JSON.stringify({ handler: 'noop', payload: { n } }) }
        : { method: 'GET', path: `/v1/tasks/${ids[n % ids.length]}` };
    const pids = d.pids!();
    const minutes: Minute[] = [];
    for (let m = 1; m <= MINUTES; m++) {
      const r = await paced({ url: d.url, rate: RATE, seconds: 60, streams: STREAMS, request, headers });
      const counts = await pg.query<{ status: string; n: string }>(
        'SELECT status, count(*) AS n FROM tasks GROUP BY status',
      );
      const by = Object.fromEntries(counts.rows.map((row) => [row.status, Number(row.n)]));
      const minute: Minute = {
        minute: m,
        rps: r.rps,
        p50: r.p50,
        p99: r.p99,
        failed: r.non2xx + r.errors,
        rss: Object.fromEntries(Object.entries(pids).map(([app, pid]) => [app, rssMiB(pid)])),
        waiting: (by.queued ?? 0) + (by.running ?? 0),
        done: by.succeeded ?? 0,
      };
      minutes.push(minute);
      console.log(JSON.stringify(minute));
    }
    const apps = Object.keys(pids);
    console.log(
      '\n' +
        table(
          [
            'minute',
            'req/s',
            'p50 ms',
            'p99 ms',
            'failed',
            ...apps.map((a) => `${a} RSS MiB`),
            'tasks waiting',
            'done',
          ],
          minutes.map((m) => [
            m.minute,
            m.rps,
            m.p50,
            m.p99,
            m.failed,
            ...apps.map((a) => m.rss[a]),
            m.waiting,
            m.done,
          ]),
        ),
    );
    for (const app of apps)
      console.log(
        rssVerdict(
          app,
          minutes.slice(1).map((m) => [m.minute, m.rss[app]] as const),
        ),
      );
    console.log(JSON.stringify({ minutes: MINUTES, rate: RATE, submitShare: SUBMIT_SHARE, series: minutes }));
    if (minutes.some((m) => m.failed > 0)) throw new Error('some requests failed');
  } finally {
    await pg.end();
    await d.close();
  }
}

main().catch((error: unknown) => {
  console.error('soak bench failed:', error);
  process.exitCode = 1;
});
