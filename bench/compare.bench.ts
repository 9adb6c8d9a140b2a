// `npm run bench:compare`: does change B make Baton faster than A? Two builds, or two sets of settings, taken in turns.
//
// On this shared machine the rate moves by 10-30% from one minute to the next, more than most changes are worth, so a
// run of each says little. This deploys A and B in turns (A B, B A, A B, ...), each an API process and a worker
// process as `start:api` / `start:worker` run them, on a fresh database and queue prefix. Each is the tasks bench's
// Baton run (tasks.bench baton()): a warm-up of BENCH_WARMUP no-op tasks (default 0.4 x BENCH_N), then BENCH_N more on
// the clock, posted by BENCH_CLIENTS clients, until Postgres holds them all as succeeded. Printed: each deployment's
// tasks/s and CPU ms per task by part, each side's medians, and in how many pairs B was faster.
// Settings: COMPARE_A_ROOT / COMPARE_B_ROOT (a checkout with its apps built, e.g. a `git worktree`; default this one),
// COMPARE_A_ENV / COMPARE_B_ENV (Baton settings as JSON, e.g. '{"FAIR_QUEUES":"none"}'), COMPARE_A_FLAGS /
// COMPARE_B_FLAGS (node flags for that side's processes, after its checkout's start-script flags, package.json
// `config.nodeFlags`, so a later one wins, e.g. '--max-semi-space-size=16'; default BENCH_CHILD_FLAGS),
// COMPARE_PAIRS (default 4), BENCH_N (default 10000), BENCH_CLIENTS (default 32). The settings tasks.bench gives Baton
// apply to both.
import { intFromEnv, percentile, round, table } from './support';
import { childFlags } from './deployment';
import { baton, type Result } from './tasks.bench';

const N = intFromEnv('BENCH_N', 10_000);
const WARMUP = intFromEnv('BENCH_WARMUP', Math.ceil(N * 0.4));
const PAIRS = intFromEnv('COMPARE_PAIRS', 4);

interface Side {
  name: 'A' | 'B';
  root?: string;
  env: Record<string, string>;
  flags?: string[];
}

function side(name: 'A' | 'B'): Side {
  const json = process.env[`COMPARE_${name}_ENV`];
  let env: Record<string, string> = {};
  if (json) {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`COMPARE_${name}_ENV must be a JSON object of settings, such as {"FAIR_QUEUES":"none"}`);
    env = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  }
  const flags = process.env[`COMPARE_${name}_FLAGS`];
  return {
    name,
    root: process.env[`COMPARE_${name}_ROOT`] || undefined,
    env,
    flags: flags ? childFlags(flags) : undefined,
  };
}

const median = (xs: number[]): number => percentile(xs, 0.5);

async function main(): Promise<void> {
  const a = side('A');
  const b = side('B');
  const describe = (s: Side) => [s.root ?? 'this checkout', JSON.stringify(s.env), ...(s.flags ?? [])].join(' ');
  console.log(`compare: A = ${describe(a)}; B = ${describe(b)}`);
  console.log(`${PAIRS} pairs in turns; each deployment: ${WARMUP} tasks to warm up, then ${N} on the clock\n`);
  const results: Record<'A' | 'B', Result[]> = { A: [], B: [] };
  let bFaster = 0;
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? [a, b] : [b, a];
    for (const s of order) {
      // The tasks bench's own Baton run: warmed up, then N tasks on the clock, every one checked in Postgres.
      const m = await baton({ n: N, warmup: WARMUP, settings: s.env, root: s.root, flags: s.flags });
      results[s.name].push(m);
      const cpu = Object.entries(m.cpuMs)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      console.log(`pair ${pair + 1} ${s.name}: ${round(m.jobsPerSecond)} tasks/s; CPU ms per task: ${cpu}`);
    }
    if (results.B[pair].jobsPerSecond > results.A[pair].jobsPerSecond) bFaster++;
  }
  const parts = Object.keys(results.A[0].cpuMs);
  const row = (label: string, pick: (m: Result) => number) => {
    const [ma, mb] = [median(results.A.map(pick)), median(results.B.map(pick))];
    return [label, round(ma), round(mb), round(mb / ma)];
  };
  console.log(
    '\n' +
      table(
        ['median', 'A', 'B', 'B / A'],
        [
          row('tasks/s', (m) => m.jobsPerSecond),
          ...parts.map((p) => row(`CPU ms per task: ${p}`, (m) => m.cpuMs[p] ?? Number.NaN)),
        ],
      ),
  );
  console.log(`\nB was faster in ${bFaster} of ${PAIRS} pairs`);
  console.log(
    JSON.stringify({
      n: N,
      pairs: PAIRS,
      a: { root: a.root, env: a.env, flags: a.flags, runs: results.A },
      b: { root: b.root, env: b.env, flags: b.flags, runs: results.B },
      bFaster,
    }),
  );
}

main().catch((error: unknown) => {
  console.error('compare bench failed:', error);
  process.exitCode = 1;
});
