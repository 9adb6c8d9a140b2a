import type { DurationSpec, FaultTarget, SimulatorOptions } from './simulator.config';
import type { ListenOptions } from './simulator.server';

type Env = Record<string, string | undefined>;

/** Every variable `npm run cluster:sim` reads, with what it takes (also the --help text). */
export const SIMULATOR_ENV_HELP: Record<string, string> = {
  PORT: 'port to listen on (default 4000)',
  HOST: 'address to bind (default 127.0.0.1)',
  SIM_SEED: 'seed for every random draw (default: drawn, and shown in GET /stats)',
  SIM_QUEUE_MS: 'time SUBMITTED: "50" or "20-200" (uniform)',
  SIM_RUN_MS: 'time RUNNING: "500" or "200-2000" (uniform)',
  SIM_FAIL_RATE: 'share of jobs ending FAILED, 0..1',
  SIM_STUCK_RATE: 'share of jobs that never end, 0..1',
  SIM_STUCK_IN: 'SUBMITTED, RUNNING or random',
  SIM_UNKNOWN_FOR_MS: 'a new job reads 404 this long after submit',
  SIM_DEDUPE: 'same clientToken, same job: true (default) or false',
  SIM_RATE_LIMIT: 'submissions per second (token bucket); empty or 0 for none',
  SIM_RATE_BURST: 'token bucket capacity (default: the rate)',
  SIM_BURST_429_RATE: 'share of requests answered 429 at random, 0..1',
  SIM_RETRY_AFTER_SEC: 'Retry-After of the random 429s (default 1)',
  SIM_RETRY_AFTER_FORMAT: 'seconds or http-date',
  SIM_ERROR_RATE: 'share of requests answered 500/503, 0..1',
  SIM_TIMEOUT_RATE: 'share of requests that hang, then drop, 0..1',
  SIM_HANG_MS: 'how long a hung request hangs (default 30000)',
  SIM_TIMEOUT_APPLIED_RATE: 'share of hung requests that took effect anyway (default 0.5)',
  SIM_FAULT_TARGETS: 'calls the random faults hit: comma list of submit,status,cancel',
  SIM_CANCEL: 'cancel supported: true (default) or false (405)',
  SIM_CALLBACK_URL: 'POST completions here (off when empty)',
  SIM_CALLBACK_SECRET: 'HMAC key for X-Cluster-Signature (required with a URL)',
  SIM_CALLBACK_ATTEMPTS: 'tries per callback (default 3)',
  SIM_CALLBACK_RETRY_DELAY_MS: 'wait before the second try, doubling (default 200)',
  SIM_CALLBACK_TIMEOUT_MS: 'per try (default 2000)',
  SIM_CALLBACK_DROP_RATE: 'share of callbacks never sent, 0..1',
};

/** Simulator options and where to listen, from the environment; throws one line naming a bad variable. */
export function simulatorSettingsFromEnv(env: Env): { options: SimulatorOptions; listen: ListenOptions } {
  const read = new EnvReader(env);
  const url = read.text('SIM_CALLBACK_URL');
  const rate = read.number('SIM_RATE_LIMIT');
  const options: SimulatorOptions = {
    seed: read.text('SIM_SEED'),
    queueMs: read.duration('SIM_QUEUE_MS'),
    runMs: read.duration('SIM_RUN_MS'),
    failRate: read.number('SIM_FAIL_RATE'),
    stuckRate: read.number('SIM_STUCK_RATE'),
    stuckIn: read.oneOf('SIM_STUCK_IN', ['SUBMITTED', 'RUNNING', 'random'] as const),
    unknownForMs: read.number('SIM_UNKNOWN_FOR_MS'),
    dedupeByClientToken: read.bool('SIM_DEDUPE'),
    rateLimit:
      rate === undefined ? undefined : rate > 0 ? { perSecond: rate, burst: read.number('SIM_RATE_BURST') } : null,
    burst429Rate: read.number('SIM_BURST_429_RATE'),
    retryAfterSec: read.number('SIM_RETRY_AFTER_SEC'),
    retryAfterFormat: read.oneOf('SIM_RETRY_AFTER_FORMAT', ['seconds', 'http-date'] as const),
    errorRate: read.number('SIM_ERROR_RATE'),
    timeoutRate: read.number('SIM_TIMEOUT_RATE'),
    hangMs: read.number('SIM_HANG_MS'),
    timeoutAppliedRate: read.number('SIM_TIMEOUT_APPLIED_RATE'),
    faultTargets: read.list('SIM_FAULT_TARGETS') as FaultTarget[] | undefined,
    cancel: read.bool('SIM_CANCEL'),
    callbacks: url
      ? {
          url,
          secret: read.required('SIM_CALLBACK_SECRET', 'when SIM_CALLBACK_URL is set'),
          attempts: read.number('SIM_CALLBACK_ATTEMPTS'),
          retryDelayMs: read.number('SIM_CALLBACK_RETRY_DELAY_MS'),
          timeoutMs: read.number('SIM_CALLBACK_TIMEOUT_MS'),
          dropRate: read.number('SIM_CALLBACK_DROP_RATE'),
        }
      : undefined,
  };
  return { options, listen: { port: read.number('PORT') ?? 4000, host: read.text('HOST') ?? '127.0.0.1' } };
}

/** Reads one variable at a time; an empty value counts as unset. */
class EnvReader {
  constructor(private readonly env: Env) {}

  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  required(name: string, when: string): string {
    return this.text(name) ?? fail(name, `required ${when}`);
  }

  number(name: string): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    return Number.isFinite(n) ? n : fail(name, `expected a number, got "${value}"`);
  }

  bool(name: string): boolean | undefined {
    const value = this.text(name)?.toLowerCase();
    if (value === undefined) return undefined;
    if (['true', '1', 'yes', 'on'].includes(value)) return true;
    if (['false', '0', 'no', 'off'].includes(value)) return false;
    return fail(name, `expected true or false, got "${value}"`);
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const value = this.text(name);
    if (value === undefined || (choices as readonly string[]).includes(value)) return value as T | undefined;
    return fail(name, `expected one of ${choices.join(', ')}, got "${value}"`);
  }

  list(name: string): string[] | undefined {
    return this.text(name)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  duration(name: string): DurationSpec | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const range = /^(\d+(?:\.\d+)?)\s*(?:-|\.\.)\s*(\d+(?:\.\d+)?)$/.exec(value);
    if (range) return { min: Number(range[1]), max: Number(range[2]) };
    return /^\d+(\.\d+)?$/.test(value)
      ? Number(value)
      : fail(name, `expected ms like "500" or "200-2000", got "${value}"`);
  }
}

function fail(name: string, why: string): never {
  throw new Error(`cluster simulator: invalid setting ${name}: ${why}`);
}
