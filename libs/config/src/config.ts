import { parseRoleMap } from '@baton/identity';
import { bool, cleanEnv, makeValidator, port, str, url, EnvError, EnvMissingError } from 'envalid';

const int = (min: number, max: number) =>
  makeValidator<number>((input) => {
    const n = Number(input);
    if (!/^-?\d+$/.test(String(input).trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new EnvError(`an integer from ${min} to ${max}`);
    }
    return n;
  });

/** A duration: `7d`, `36h`, `30m`, `10s`, `500ms` or plain milliseconds; the value is in milliseconds. */
const duration = makeValidator<number>((input) => {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(String(input).trim());
  if (!m) throw new EnvError('a duration such as 7d, 36h, 30m, 10s or 500ms');
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const ms = Number(m[1]) * units[m[2] ?? 'ms'];
  if (ms < 1000) throw new EnvError('a duration such as 7d, 36h, 30m, 10s or 500ms');
  return ms;
});

/** A comma list of fair-shared queues, or `none`. */
const fairQueues = makeValidator<string[]>((input) => {
  const value = String(input).trim();
  if (value === 'none') return [];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0 || names.some((n) => !['tasks', 'cluster', 'inference'].includes(n)))
    throw new EnvError('a comma list of tasks, cluster, inference, or none');
  return [...new Set(names)];
});

/** envalid's own messages ("Invalid url: ...", 'Value "x" not in choices [...]') as what a setting expects. */
function describeExpected(message: string): string {
  const choices = /not in choices \[(.*)\]/.exec(message);
  if (choices) return `one of ${choices[1].replace(/"/g, '').split(',').join(', ')}`;
  const invalid = /^Invalid (\w+)/.exec(message);
  if (invalid)
    return (
      { url: 'a URL', port: 'a port number (1-65535)', bool: 'true or false', str: 'a string' }[invalid[1]] ??
      `a valid ${invalid[1]}`
    );
  return message || 'a valid value';
}

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** Thrown by loadConfig: one line naming the variable and what it expects. */
export class ConfigError extends Error {}

const SPEC = {
  // HTTP
  PORT: port({ default: 3000, desc: 'API port' }),
  HOST: str({ default: '0.0.0.0', desc: 'API bind address' }),
  BODY_LIMIT_BYTES: int(1024, 1024 ** 3)({ default: 64 * 1024 * 1024, desc: 'largest accepted request body' }),
  TRUST_PROXY: bool({ default: false, desc: 'trust X-Forwarded-* from a load balancer' }),
  METRICS_PORT: int(
    0,
    65535,
  )({
    default: 9464,
    desc: 'port of /metrics and /healthz in a worker process (start:worker), on HOST; 0: none. The API serves /metrics on PORT',
  }),
  GPU_METRICS_PORT: int(
    0,
    65535,
  )({
    default: 9465,
    desc: 'port of /metrics and /healthz in a GPU worker process (start:gpu-worker), on HOST; 0: none',
  }),
  // Stores
  REDIS_URL: url({ default: 'redis://127.0.0.1:6379', desc: 'Redis for queues, rate limits, caches' }),
  DATABASE_URL: url({ default: 'postgresql://postgres@127.0.0.1:5432/baton', desc: 'Postgres, the system of record' }),
  DATABASE_POOL_SIZE: int(1, 200)({ default: 10, desc: 'connections per process' }),
  DATA_DIR: str({ default: './.data', desc: 'where embedded Redis/PGlite and generated secrets live' }),
  REDIS_CLUSTER_NODES: str({
    default: '',
    desc: 'seed nodes of a Redis Cluster (host:port or redis:// URLs, comma-separated); set: REDIS_URL is not used and QUEUE_PREFIX gets a hash tag',
  }),
  QUEUE_PREFIX: str({
    default: 'baton',
    desc: 'key prefix of every queue and Redis key; on a Redis Cluster wrapped in a hash tag ({baton}) unless it has one',
  }),
  // Access
  ADMIN_API_KEY: str({ default: '', desc: 'an admin API key; generated into DATA_DIR when empty' }),
  RATE_LIMIT_PER_SECOND: int(1, 1_000_000)({ default: 200, desc: 'requests per second per API key' }),
  RATE_LIMIT_BURST: int(0, 1_000_000)({ default: 400, desc: 'extra requests a key may burst above its rate' }),
  IDEMPOTENCY_TTL_HOURS: int(24, 24 * 90)({ default: 24, desc: 'how long Idempotency-Key records are kept' }),
  // Operator console (Bull Board at /admin/queues) and sign-in for people
  PUBLIC_URL: str({
    default: '',
    desc: 'URL people open Baton at (https in production): single sign-on redirects and links in notifications; empty: http://localhost:PORT',
  }),
  SESSION_SECRET: str({
    default: '',
    desc: 'signs console session cookies (32+ chars); generated into DATA_DIR when empty',
  }),
  SESSION_TTL_MINUTES: int(5, 7 * 24 * 60)({ default: 480, desc: 'a console session ends this long after sign-in' }),
  OIDC_ISSUER_URL: str({ default: '', desc: 'OpenID Connect issuer for single sign-on; empty: API-key sign-in only' }),
  OIDC_CLIENT_ID: str({ default: '', desc: 'client id registered at the issuer (needed with OIDC_ISSUER_URL)' }),
  OIDC_CLIENT_SECRET: str({ default: '', desc: 'client secret; empty for a public client (PKCE only)' }),
  OIDC_SCOPES: str({ default: 'openid profile email', desc: 'scopes asked for at sign-in' }),
  OIDC_ROLE_CLAIM: str({ default: 'baton_role', desc: 'ID token claim holding the role(s); dots walk into objects' }),
  OIDC_ROLE_MAP: str({
    default: '',
    desc: 'claim value=role pairs (ops=admin,audit=viewer); empty: values are role names',
  }),
  CONSOLE_KEY_SIGNIN: bool({ default: true, desc: 'offer console sign-in with an admin API key' }),
  // Backpressure
  BACKLOG_LIMIT: int(
    1,
    100_000_000,
  )({ default: 200_000, desc: 'waiting jobs in a queue above which the API answers 503' }),
  // Tasks
  TASK_CONCURRENCY: int(1, 1000)({ default: 32, desc: 'task jobs one worker process runs at once' }),
  TASK_DEFAULT_MAX_ATTEMPTS: int(1, 20)({ default: 3, desc: 'attempts when a task does not say' }),
  TASK_BACKOFF_BASE_MS: int(1, 3_600_000)({ default: 1000, desc: 'first retry delay (exponential, full jitter)' }),
  TASK_BACKOFF_MAX_MS: int(1, 86_400_000)({ default: 300_000, desc: 'retry delay cap' }),
  TASK_HTTP_MAX_TIMEOUT_MS: int(100, 600_000)({ default: 30_000, desc: 'longest timeout an http task may ask for' }),
  TASK_HTTP_ALLOW_PRIVATE_NETWORKS: bool({ default: false, desc: 'let http tasks call private/loopback addresses' }),
  // Fair sharing between tenants (libs/fairness)
  FAIR_QUEUES: fairQueues({
    default: ['tasks', 'cluster', 'inference'],
    desc: 'queues whose capacity is shared between tenants by weight (tasks, cluster, inference; none: plain FIFO by priority)',
  }),
  FAIR_DEFAULT_WEIGHT: int(1, 1000)({ default: 1, desc: 'share of a tenant without its own weight' }),
  FAIR_DEFAULT_MAX_IN_FLIGHT: int(
    0,
    1_000_000,
  )({ default: 0, desc: 'jobs a tenant may have admitted and unfinished per fair queue (0: no limit)' }),
  FAIR_DEFAULT_RATE: int(
    0,
    1_000_000,
  )({ default: 0, desc: 'admissions per second per tenant and queue (0: no limit)' }),
  FAIR_AGING_MS: int(
    0,
    86_400_000,
  )({ default: 30_000, desc: 'waiting time worth one priority level within a tenant (ageing: no starvation)' }),
  // Maintenance
  RECONCILE_INTERVAL_MS: int(
    100,
    3_600_000,
  )({ default: 15_000, desc: 'how often the reconciler compares Postgres and Redis' }),
  RECONCILE_GRACE_MS: int(
    0,
    3_600_000,
  )({ default: 2_000, desc: 'age below which a pending row is left to its request' }),
  // Schedules and alerts
  SCHEDULE_MIN_EVERY_MS: int(
    1,
    86_400_000,
  )({ default: 1000, desc: 'shortest fixed rate (everyMs) a schedule may ask for' }),
  SCHEDULE_CONCURRENCY: int(1, 1000)({ default: 64, desc: 'schedule jobs (fires, sweeps) one worker runs at once' }),
  SCHEDULE_CATCH_UP_GRACE_MS: int(
    0,
    3_600_000,
  )({ default: 5000, desc: 'a fire time at most this late is on time; older ones follow the catch-up policy' }),
  SCHEDULE_FIRE_AHEAD_MS: int(
    0,
    5000,
  )({ default: 750, desc: 'fire jobs come due this early and wait for their instant (absorbs pick-up latency)' }),
  SCHEDULE_SWEEP_INTERVAL_MS: int(
    100,
    60_000,
  )({ default: 1000, desc: 'how often finished runs are settled and deadlines watched' }),
  TASK_HEARTBEAT_MS: int(50, 600_000)({ default: 10_000, desc: 'how often a running task writes its heartbeat' }),
  STUCK_AFTER_MS: int(
    100,
    86_400_000,
  )({ default: 120_000, desc: 'a running task whose heartbeat is older than this is stuck (stuck_jobs alert)' }),
  ALERT_BACKLOG_WAITING: int(
    1,
    100_000_000,
  )({ default: 10_000, desc: 'waiting jobs in a queue above which a backlog alert opens' }),
  ALERT_BACKLOG_OLDEST_MS: int(
    1,
    86_400_000,
  )({ default: 300_000, desc: "age of a queue's oldest waiting job above which a backlog alert opens" }),
  ALERT_WATCH_INTERVAL_MS: int(100, 3_600_000)({ default: 5000, desc: 'how often backlog and stuck jobs are checked' }),
  // Inference
  INFERENCE_DEVICE: str({
    default: 'cpu',
    choices: ['cpu', 'cuda'],
    desc: 'ONNX Runtime execution provider for the GPU worker (falls back to cpu)',
  }),
  INFERENCE_MODELS_FILE: str({ default: 'models.json', desc: 'the model registry (JSON); re-read when it changes' }),
  INFERENCE_MAX_BATCH_SIZE: int(
    1,
    1024,
  )({ default: 16, desc: 'most items in one session call (models may cap lower)' }),
  INFERENCE_MAX_WAIT_MS: int(0, 60_000)({ default: 5, desc: 'longest an item waits for its micro-batch to fill' }),
  INFERENCE_CONCURRENCY: int(
    1,
    10_000,
  )({ default: 64, desc: 'items one GPU worker holds at once (>= (sessions + 1) x batch size)' }),
  INFERENCE_SESSIONS: int(
    0,
    64,
  )({
    default: 0,
    desc: 'model sessions running batches side by side, each on its own thread (0: one)',
  }),
  INFERENCE_THREADS: int(
    0,
    256,
  )({
    default: 0,
    desc: 'ONNX Runtime intra-op threads per session (0: the cores but one, shared among the sessions; at least 1)',
  }),
  INFERENCE_MAX_ATTEMPTS: int(1, 20)({ default: 3, desc: 'attempts of an item whose batch the runtime fails' }),
  INFERENCE_LOCK_MS: int(
    1000,
    600_000,
  )({ default: 30_000, desc: "lock of an item in a GPU worker; a crashed worker's items run again after it" }),
  INFERENCE_BACKLOG_LIMIT: int(
    1,
    100_000_000,
  )({ default: 100_000, desc: 'waiting inference items above which submissions get 503' }),
  RESULT_TTL: duration({
    default: 7 * 86_400_000,
    desc: 'how long inference results stay readable (e.g. 7d, 36h, 90s)',
  }),
  HISTORY_RETENTION_DAYS: int(
    1,
    3650,
  )({
    default: 30,
    desc: 'finished tasks, batches and dead letters older than this are purged from Postgres',
  }),
  // Notifications
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool({
    default: false,
    desc: 'let webhooks reach private, loopback and link-local addresses',
  }),
  SMTP_URL: str({ default: '', desc: 'SMTP server for email notifications (smtp:// or smtps://); empty: email off' }),
  MAIL_FROM: str({ default: 'Baton <baton@localhost>', desc: 'From address of notification emails' }),
  NOTIFY_MAX_ATTEMPTS: int(1, 50)({ default: 8, desc: 'attempts per delivery before it goes to dead letters' }),
  NOTIFY_BACKOFF_BASE_MS: int(1, 3_600_000)({ default: 5_000, desc: 'first delivery retry delay (full jitter)' }),
  NOTIFY_BACKOFF_MAX_MS: int(1, 86_400_000)({ default: 3_600_000, desc: 'delivery retry delay cap' }),
  NOTIFY_RETRY_AFTER_MAX_MS: int(
    0,
    86_400_000,
  )({ default: 3_600_000, desc: "longest wait a receiver's Retry-After may impose" }),
  NOTIFY_TIMEOUT_MS: int(100, 120_000)({ default: 10_000, desc: 'per attempt: webhook request or SMTP stage' }),
  NOTIFY_CONCURRENCY: int(1, 1000)({ default: 16, desc: 'deliveries one worker process makes at once' }),
  NOTIFY_DISPATCH_INTERVAL_MS: int(
    50,
    60_000,
  )({ default: 1_000, desc: 'how often the outbox is swept for new events' }),
  NOTIFY_LOCK_MS: int(
    1_000,
    600_000,
  )({ default: 30_000, desc: 'a delivery whose worker stopped renewing its lock this long is retried elsewhere' }),
  // Process
  // External cluster (batches)
  CLUSTER_URL: str({
    default: '',
    desc: 'base URL of the external cluster; empty: workers run a built-in simulator and say so',
  }),
  CLUSTER_CALLBACK_SECRET: str({ default: '', desc: 'HMAC key of cluster callbacks; empty: callbacks refused' }),
  CLUSTER_SUBMIT_RATE: int(
    0,
    1_000_000,
  )({ default: 0, desc: 'most cluster submissions per second, all workers together (0: no limit)' }),
  CLUSTER_CONCURRENCY: int(1, 5000)({ default: 200, desc: 'batch item steps one worker process runs at once' }),
  CLUSTER_MAX_IN_FLIGHT: int(
    1,
    10_000_000,
  )({
    default: 5000,
    desc: 'batch items admitted to the cluster and unfinished, all tenants together (the fair window of the cluster queue)',
  }),
  CLUSTER_TIMEOUT_MS: int(100, 600_000)({ default: 10_000, desc: 'per call to the cluster' }),
  CLUSTER_LOCK_MS: int(
    1000,
    600_000,
  )({ default: 30_000, desc: "lock of a running item step; a crashed worker's steps resume after it" }),
  WORKER_QUEUES: str({ default: 'all', desc: 'queues this worker process consumes (comma list or all)' }),
  TRACING_ENABLED: bool({ default: false, desc: 'OpenTelemetry traces across requests, jobs and outgoing calls' }),
  TRACING_OTLP_URL: str({
    default: '',
    desc: 'OTLP/HTTP traces endpoint; empty: OTEL_EXPORTER_OTLP_* or localhost:4318',
  }),
  LOG_LEVEL: str({ default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
  NODE_ENV: str({ default: 'production', choices: ['production', 'development', 'test'] }),
  SHUTDOWN_GRACE_MS: int(0, 600_000)({ default: 10_000, desc: 'time given to in-flight work on SIGTERM' }),
} as const;

export type Config = Readonly<ReturnType<typeof cleanEnv<typeof SPEC>>> & {
  DATABASE_URL_EXPLICIT: boolean;
  REDIS_URL_EXPLICIT: boolean;
};

/** The settings and what each expects, for the README and `--help`. */
export const CONFIG_SPEC = SPEC;

/**
 * Reads and validates every setting once, at boot. A missing or malformed value throws ConfigError with one line:
 * `VARIABLE: expected ..., got "..."`.
 */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable counts as unset (as `VAR=` in a compose file or a shell means).
  const env = Object.fromEntries(Object.entries(rawEnv).filter(([, v]) => v !== ''));
  const values = cleanEnv(env, SPEC, {
    reporter: ({ errors }) => {
      const [name, error] = Object.entries(errors)[0] ?? [];
      if (!name || !error) return;
      const expected = error instanceof EnvMissingError ? 'a value' : describeExpected(error.message);
      const got = env[name] === undefined ? 'nothing' : JSON.stringify(env[name]);
      throw new ConfigError(`invalid setting ${name}: expected ${expected}, got ${got}`);
    },
  });
  if (values.TASK_BACKOFF_BASE_MS > values.TASK_BACKOFF_MAX_MS) {
    throw new ConfigError('invalid setting TASK_BACKOFF_BASE_MS: expected at most TASK_BACKOFF_MAX_MS');
  }
  if (values.NOTIFY_BACKOFF_BASE_MS > values.NOTIFY_BACKOFF_MAX_MS) {
    throw new ConfigError('invalid setting NOTIFY_BACKOFF_BASE_MS: expected at most NOTIFY_BACKOFF_MAX_MS');
  }
  for (const [name, protocols] of [
    ['SMTP_URL', ['smtp:', 'smtps:']],
    ['PUBLIC_URL', ['http:', 'https:']],
  ] as const) {
    const value = values[name];
    if (value && !hasProtocol(value, protocols)) {
      // SMTP_URL may carry a password: never echoed.
      const got = name === 'SMTP_URL' ? 'something else' : JSON.stringify(value);
      const schemes = protocols.map((p) => `${p}//`).join(' or ');
      throw new ConfigError(`invalid setting ${name}: expected a URL starting ${schemes}, got ${got}`);
    }
  }
  checkSignIn(values);
  const clusterNodes = parseClusterNodes(values.REDIS_CLUSTER_NODES);
  if (clusterNodes.some((n) => !CLUSTER_NODE.test(n))) {
    // May carry a password: never echoed.
    throw new ConfigError(
      'invalid setting REDIS_CLUSTER_NODES: expected host:port or redis://host:port entries separated by commas, got something else',
    );
  }
  return Object.freeze({
    ...values,
    QUEUE_PREFIX: clusterNodes.length > 0 ? clusterPrefix(values.QUEUE_PREFIX) : values.QUEUE_PREFIX,
    DATABASE_URL_EXPLICIT: env.DATABASE_URL !== undefined,
    REDIS_URL_EXPLICIT: env.REDIS_URL !== undefined,
  });
}

/** One seed node: `host:port`, or a redis:// or rediss:// URL with a port (credentials allowed). */
const CLUSTER_NODE = /^(rediss?:\/\/([^@/\s]*@)?)?[^\s:/@,]+:\d{1,5}\/?$/;

/** The seed nodes of REDIS_CLUSTER_NODES, in order; none when it is empty. */
export function parseClusterNodes(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The key prefix on a Redis Cluster. Every key of every queue must hash to one slot: BullMQ's scripts touch several
 * keys of a queue at once, and a batch's flow spans the `batches`, `cluster` and seal queues. Redis hashes only the
 * part between the first `{` and `}`, so a prefix without a hash tag is wrapped in one.
 */
export function clusterPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Sign-in settings that only make sense together: SSO needs a client and a public URL; secrets need length. */
function checkSignIn(values: {
  PUBLIC_URL: string;
  SESSION_SECRET: string;
  OIDC_ISSUER_URL: string;
  OIDC_CLIENT_ID: string;
  OIDC_ROLE_MAP: string;
}): void {
  // Secrets are never echoed; other values are, as loadConfig does.
  const bad = (name: keyof typeof values, expected: string, got = JSON.stringify(values[name])): never => {
    throw new ConfigError(`invalid setting ${name}: expected ${expected}, got ${got || 'nothing'}`);
  };
  const asUrl = (name: keyof typeof values, value: string): URL => {
    try {
      const u = new URL(value);
      if (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname))) return u;
    } catch {
      // reported below
    }
    return bad(name, 'an https URL (http only on localhost)');
  };
  if (values.SESSION_SECRET && values.SESSION_SECRET.length < 32)
    bad('SESSION_SECRET', 'at least 32 characters', `${values.SESSION_SECRET.length}`);
  if (values.PUBLIC_URL) asUrl('PUBLIC_URL', values.PUBLIC_URL);
  if (!values.OIDC_ISSUER_URL) return;
  asUrl('OIDC_ISSUER_URL', values.OIDC_ISSUER_URL);
  if (!values.OIDC_CLIENT_ID) bad('OIDC_CLIENT_ID', 'a value when OIDC_ISSUER_URL is set', 'nothing');
  if (!values.PUBLIC_URL)
    bad('PUBLIC_URL', 'a value when OIDC_ISSUER_URL is set (the sign-in callback is under it)', 'nothing');
  try {
    parseRoleMap(values.OIDC_ROLE_MAP);
  } catch (error) {
    bad('OIDC_ROLE_MAP', (error as Error).message);
  }
}
