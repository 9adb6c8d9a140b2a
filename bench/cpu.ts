// Where a benchmark's CPU went: seconds of CPU (user + system) per part of a run, read before and after it.
//
// On a machine where every part shares a few cores, throughput is bounded by the CPU each unit of work costs across
// all processes, not by any one of them: these figures say which part to look at. Sources:
// - this process: process.cpuUsage();
// - Redis: INFO cpu (used_cpu_user + used_cpu_sys of the server, all its threads), so it works for any Redis;
// - child processes (the API, the worker) and Postgres' backends: /proc (Linux). Elsewhere those parts are left out.
//   Postgres is every process named `postgres` on this machine; a backend that exits during the run takes its CPU
//   with it, so its figure is a lower bound (the service keeps its pool's connections open while it runs).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export type CpuParts = Record<string, number>;

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a process in seconds, and its name; undefined when /proc cannot tell (gone, not Linux). */
function procCpu(pid: number | string): { name: string; seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    // Fields after the name, counted from 3 (state): utime is field 14 and stime 15 of the whole line.
    const fields = stat.slice(close + 2).split(' ');
    return { name, seconds: (Number(fields[11]) + Number(fields[12])) / clockTicks() };
  } catch {
    return undefined;
  }
}

function postgresCpu(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const p = procCpu(entry);
    if (p?.name === 'postgres') sum += p.seconds;
  }
  return sum;
}

async function redisCpu(redis: Redis): Promise<number | undefined> {
  const info = await redis.info('cpu').catch(() => '');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  const seconds = field('used_cpu_user') + field('used_cpu_sys');
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** CPU seconds so far of each part named: `self` is this process, `pids` child processes by name. */
export async function cpuNow(parts: {
  self?: string;
  pids?: Record<string, number>;
  redis?: Redis;
  postgres?: boolean;
}): Promise<CpuParts> {
  const out: CpuParts = {};
  if (parts.self) {
    const { user, system } = process.cpuUsage();
    out[parts.self] = (user + system) / 1e6;
  }
  for (const [name, pid] of Object.entries(parts.pids ?? {})) {
    const p = procCpu(pid);
    if (p) out[name] = p.seconds;
  }
  if (parts.redis) {
    const r = await redisCpu(parts.redis);
    if (r !== undefined) out.redis = r;
  }
  if (parts.postgres) {
    const pg = postgresCpu();
    if (pg !== undefined) out.postgres = pg;
  }
  return out;
}

/** Milliseconds of CPU per unit of work for each part present at both ends, and their total. */
export function cpuPerUnit(before: CpuParts, after: CpuParts, units: number): CpuParts {
  const out: CpuParts = {};
  let total = 0;
  for (const [name, end] of Object.entries(after)) {
    if (before[name] === undefined) continue;
    const ms = ((end - before[name]) * 1000) / units;
    out[name] = Math.round(ms * 1000) / 1000;
    total += ms;
  }
  out.total = Math.round(total * 1000) / 1000;
  return out;
}

/** `api 0.21, worker 0.18, … total 0.65` */
export const formatCpu = (perUnit: CpuParts): string =>
  Object.entries(perUnit)
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');
