// `npm run bench:api`: what one `POST /v1/tasks` costs the API process in CPU, with the API alone on the machine.
//
// The tasks bench measures the whole service under contention (five processes on two cores), where every part's
// CPU per task is inflated by the others. This one starts the API process with no worker, sends BENCH_N (default
// 10,000) task submissions per round from BENCH_CLIENTS (default 32) undici clients, a warm-up round then
// BENCH_ROUNDS (default 4) measured rounds, and prints requests/s and the API's CPU ms per request (from /proc) for
// each, and their median. BENCH_PATH (default /v1/tasks) names the route, to compare a variant of the submission path
// built beside it. Rounds move by ±20% on this machine: compare medians of runs alternated with the code before.
import { cpuNow, cpuPerUnit } from './cpu';
import { asProcesses, tenantKey } from './deployment';
import { httpClient, intFromEnv, percentile, round, runPool, stopwatch } from './support';

const N = intFromEnv('BENCH_N', 10_000);
const CLIENTS = intFromEnv('BENCH_CLIENTS', 32);
const ROUNDS = intFromEnv('BENCH_ROUNDS', 4);
const PATH = process.env.BENCH_PATH ?? '/v1/tasks';

async function main(): Promise<void> {
  console.log(`api bench: ${JSON.stringify({ n: N, clients: CLIENTS, rounds: ROUNDS, path: PATH })}; no worker`);
  const d = await asProcesses(
    {
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      BACKLOG_LIMIT: '100000000',
      LOG_LEVEL: 'silent',
    },
    { worker: false },
  );
  const client = httpClient(d.url, CLIENTS);
  try {
    const auth = { authorization: `Bearer ${await tenantKey(d)}` };
    const parts = { pids: { api: d.pids!().api } };
    const measured: number[] = [];
    let sent = 0;
    for (let r = 0; r <= ROUNDS; r++) {
      const before = await cpuNow(parts);
      const clock = stopwatch();
      await runPool(CLIENTS, N, async (i) => {
        const reply = await client.post(PATH, { handler: 'noop', payload: { i: sent + i } }, auth);
        if (reply.status !== 202) throw new Error(`POST ${PATH} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
      });
      const ms = clock();
      sent += N;
      const cpuMs = cpuPerUnit(before, await cpuNow(parts), N).api;
      if (r > 0) measured.push(cpuMs);
      const label = r === 0 ? 'warm-up' : `round ${r}`;
      console.log(`${label}: ${round((N / ms) * 1000)} requests/s, API CPU ${cpuMs} ms per request`);
    }
    const median = Math.round(percentile(measured, 0.5) * 1000) / 1000;
    console.log(`median API CPU: ${median} ms per request`);
    console.log(JSON.stringify({ n: N, clients: CLIENTS, path: PATH, roundsMs: measured, medianMs: median }));
  } finally {
    client.close();
    await d.close();
  }
}

main().catch((error: unknown) => {
  console.error('api bench failed:', error);
  process.exitCode = 1;
});
