/** A duration in ms: fixed, or drawn uniformly from [min, max]. */
export type DurationSpec = number | { min: number; max: number };

export type StuckState = 'SUBMITTED' | 'RUNNING';
export type FaultTarget = 'submit' | 'status' | 'cancel';

export interface SimulatorCallbacks {
  /** Where completions are POSTed as `{jobUuid, status}` (Baton: `.../v1/cluster/callbacks`). */
  url: string;
  /** Key of the X-Cluster-Signature HMAC. */
  secret: string;
  /** Tries per completion before the callback is dropped. */
  attempts: number;
  /** Wait before the second try, doubled for each later one. */
  retryDelayMs: number;
  /** Per try. */
  timeoutMs: number;
  /** Share of completions whose callback is never sent at all: real clusters lose callbacks. */
  dropRate: number;
}

/** Everything the simulator does, as data. Rates are shares in [0, 1], drawn per request or per job. */
export interface SimulatorConfig {
  /** Seeds every random draw: the same seed, tokens and request order give the same run. */
  seed: number | string | undefined;
  /** Time a job reads SUBMITTED before it starts. */
  queueMs: DurationSpec;
  /** Time a job reads RUNNING before it ends. */
  runMs: DurationSpec;
  /** Share of jobs that end FAILED (with an error message). */
  failRate: number;
  /** Share of jobs that never end. */
  stuckRate: number;
  /** Where stuck jobs stay. */
  stuckIn: StuckState | 'random';
  /** A new job reads 404 for this long after submit (eventual consistency); cancel sees it no sooner. */
  unknownForMs: number;
  /** Same clientToken → same jobUuid, never a second job. Off models a cluster that is not idempotent. */
  dedupeByClientToken: boolean;
  /** Token bucket over accepted-or-not submissions: `perSecond` refill, `burst` capacity (default perSecond). */
  rateLimit: { perSecond: number; burst?: number } | null;
  /** Share of requests answered 429 at random, whatever the bucket says. */
  burst429Rate: number;
  /** Retry-After sent with the random 429s (the bucket's 429s say when a token is due). */
  retryAfterSec: number;
  /** How Retry-After is written. */
  retryAfterFormat: 'seconds' | 'http-date';
  /** Share of requests answered 500 or 503 (half each), without doing anything. */
  errorRate: number;
  /** Share of requests that hang for `hangMs`, then have their connection dropped. */
  timeoutRate: number;
  hangMs: number;
  /** Share of hung requests that took effect anyway (a submit that times out may still have created the job). */
  timeoutAppliedRate: number;
  /** Which calls the random 429/5xx/timeout faults hit. */
  faultTargets: FaultTarget[];
  /** Cancel supported (202) or not (405). */
  cancel: boolean;
  /** Completion callbacks, or null for none. */
  callbacks: SimulatorCallbacks | null;
}

/** What callers pass: any subset; `callbacks` needs only url and secret. */
export type SimulatorOptions = Partial<Omit<SimulatorConfig, 'callbacks'>> & {
  callbacks?: (Partial<SimulatorCallbacks> & Pick<SimulatorCallbacks, 'url' | 'secret'>) | null;
};

export const DEFAULT_SIMULATOR_CONFIG: Readonly<SimulatorConfig> = Object.freeze<SimulatorConfig>({
  seed: undefined,
  queueMs: { min: 20, max: 200 },
  runMs: { min: 200, max: 2_000 },
  failRate: 0,
  stuckRate: 0,
  stuckIn: 'random',
  unknownForMs: 0,
  dedupeByClientToken: true,
  rateLimit: null,
  burst429Rate: 0,
  retryAfterSec: 1,
  retryAfterFormat: 'seconds',
  errorRate: 0,
  timeoutRate: 0,
  hangMs: 30_000,
  timeoutAppliedRate: 0.5,
  faultTargets: ['submit', 'status', 'cancel'],
  cancel: true,
  callbacks: null,
});

const CALLBACK_DEFAULTS = { attempts: 3, retryDelayMs: 200, timeoutMs: 2_000, dropRate: 0 };

/** `base` with `changes` applied (a change to callbacks replaces them), checked; throws on any bad field. */
export function mergeSimulatorConfig(base: SimulatorConfig, changes: SimulatorOptions): SimulatorConfig {
  const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  const callbacks =
    changes.callbacks === undefined
      ? base.callbacks
      : changes.callbacks && { ...CALLBACK_DEFAULTS, ...dropUndefined(changes.callbacks) };
  // `seed: undefined` passed on purpose means "draw a new one", so it survives the filter above.
  const seed = 'seed' in changes ? changes.seed : base.seed;
  const next = { ...base, ...defined, seed, callbacks };
  const problems = simulatorConfigProblems(next);
  if (problems.length > 0) throw new Error(`invalid simulator config: ${problems.join('; ')}`);
  return next;
}

/** Each bad field, named; empty when the config is usable. */
export function simulatorConfigProblems(c: SimulatorConfig): string[] {
  const problems: string[] = [];
  const share = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be a share from 0 to 1`);
  };
  const ms = (name: string, v: number) => {
    if (!(Number.isFinite(v) && v >= 0)) problems.push(`${name} must be a number of ms >= 0`);
  };
  const duration = (name: string, d: DurationSpec) => {
    if (typeof d === 'number') return ms(name, d);
    ms(`${name}.min`, d.min);
    ms(`${name}.max`, d.max);
    if (d.min > d.max) problems.push(`${name}.min must not exceed ${name}.max`);
  };
  duration('queueMs', c.queueMs);
  duration('runMs', c.runMs);
  for (const k of [
    'failRate',
    'stuckRate',
    'burst429Rate',
    'errorRate',
    'timeoutRate',
    'timeoutAppliedRate',
  ] as const) {
    share(k, c[k]);
  }
  ms('unknownForMs', c.unknownForMs);
  ms('hangMs', c.hangMs);
  if (!(c.retryAfterSec >= 0 && Number.isInteger(c.retryAfterSec)))
    problems.push('retryAfterSec must be an integer >= 0');
  if (!['SUBMITTED', 'RUNNING', 'random'].includes(c.stuckIn))
    problems.push('stuckIn must be SUBMITTED, RUNNING or random');
  if (!['seconds', 'http-date'].includes(c.retryAfterFormat))
    problems.push('retryAfterFormat must be seconds or http-date');
  if (!c.faultTargets.every((t) => ['submit', 'status', 'cancel'].includes(t))) {
    problems.push('faultTargets may hold submit, status, cancel');
  }
  if (c.rateLimit) {
    if (!(c.rateLimit.perSecond > 0)) problems.push('rateLimit.perSecond must be > 0');
    if (c.rateLimit.burst !== undefined && !(c.rateLimit.burst >= 1)) problems.push('rateLimit.burst must be >= 1');
  }
  if (c.callbacks) {
    if (!/^https?:\/\//.test(c.callbacks.url)) problems.push('callbacks.url must be an http(s) URL');
    if (!c.callbacks.secret) problems.push('callbacks.secret must not be empty');
    if (!(Number.isInteger(c.callbacks.attempts) && c.callbacks.attempts >= 1)) {
      problems.push('callbacks.attempts must be an integer >= 1');
    }
    ms('callbacks.retryDelayMs', c.callbacks.retryDelayMs);
    ms('callbacks.timeoutMs', c.callbacks.timeoutMs);
    share('callbacks.dropRate', c.callbacks.dropRate);
  }
  return problems;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
