// Makes `npm start` work on a fresh machine: when the configured Redis or Postgres is not reachable, fall back to a
// private redis-server and an embedded Postgres (PGlite over the wire protocol), both keeping their data under dataDir.
import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { readlinkSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, isAbsolute, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Client } from 'pg';

export type InfraLog = (msg: string, extra?: object) => void;

export interface InfraHandle {
  url: string;
  /** True when the URL points at something this module started (now or in an earlier run). */
  embedded: boolean;
  /** Set when the server cannot take more than this many client connections: size connection pools to fit. */
  maxConnections?: number;
  /** Stops what this call started; a no-op for servers we only found. */
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  url?: string;
  dataDir: string;
  log: InfraLog;
}

export interface EnsurePostgresOptions {
  url?: string;
  /** True when the URL came from DATABASE_URL: then an unreachable server is an error, never a silent fallback. */
  urlExplicit: boolean;
  dataDir: string;
  log: InfraLog;
}

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/baton';
const PROBE_TIMEOUT_MS = 1000;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

// pglite-socket 0.2.17 takes several connections only when asked (option maxConnections, default 1; over the limit a
// socket is dropped without a Postgres error), and then multiplexes them onto PGlite's single backend session message
// by message. A client's Parse/Bind/Execute batch that arrives in more than one TCP read therefore interleaves with
// other connections: we reproduced "bind message supplies 2 parameters, but prepared statement \"\" requires 1" with
// 8 pg clients sending 300 kB parameters, and with equal arities it would silently run another connection's statement.
// Session state (SET, advisory locks, temp tables) is shared too. So we serve one connection at a time and tell the
// caller to use a pool of 1.
const PGLITE_MAX_CONNECTIONS = 1;

const noop = async (): Promise<void> => {};

// ---------------------------------------------------------------------------------------------------------------
// Redis

interface RedisState {
  pid: number;
  port: number;
}

export async function ensureRedis(opts: EnsureRedisOptions): Promise<InfraHandle> {
  const url = opts.url || DEFAULT_REDIS_URL;
  if (await redisAnswers(url)) return { url, embedded: false, stop: noop };
  const bin = findOnPath('redis-server');
  if (!bin) {
    throw new Error(
      `Redis is not reachable at ${redact(url)} and redis-server is not on the PATH: start Redis or set REDIS_URL`,
    );
  }
  const dir = join(opts.dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  // Serialised so that two Baton processes starting together end up sharing one private server.
  return withFileLock(join(dir, 'start.lock'), () => reuseOrStartRedis(bin, dir, url, opts.log));
}

async function reuseOrStartRedis(bin: string, dir: string, url: string, log: InfraLog): Promise<InfraHandle> {
  const statePath = join(dir, 'baton-redis.json');
  const previous = readJson<RedisState>(statePath);
  if (previous && isAlive(previous.pid) && (await redisOwnsDir(previous, dir))) {
    // Never start a second server on the same append-only files, even if the first is slow to answer (loading).
    if (!(await waitUntil(() => redisAnswers(`redis://127.0.0.1:${previous.port}`), START_TIMEOUT_MS))) {
      throw new Error(
        `Redis is not reachable at ${redact(url)} and the private redis-server (pid ${previous.pid}, ` +
          `127.0.0.1:${previous.port}) does not answer: stop it, or set REDIS_URL`,
      );
    }
    log(
      `redis not reachable at ${redact(url)}; using the private redis-server already running on ` +
        `127.0.0.1:${previous.port} (pid ${previous.pid}, data in ${displayPath(dir)})`,
      { pid: previous.pid },
    );
    return { url: `redis://127.0.0.1:${previous.port}`, embedded: true, stop: noop };
  }
  const started = await startRedisServer(bin, dir, url);
  writeFileSync(statePath, JSON.stringify({ pid: started.pid, port: started.port } satisfies RedisState));
  log(
    `redis not reachable at ${redact(url)}; started a private redis-server on 127.0.0.1:${started.port} ` +
      `(data in ${displayPath(dir)})`,
    { pid: started.pid, startMs: started.ms },
  );
  return {
    url: `redis://127.0.0.1:${started.port}`,
    embedded: true,
    stop: once(() => stopRedisServer(started.child, statePath)),
  };
}

async function startRedisServer(bin: string, dir: string, url: string) {
  const t0 = Date.now();
  let failure = '';
  // A free port can be taken between our probe and redis binding it: retry with a fresh one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawnRedis(bin, dir, port);
    failure = await waitForRedis(child, dir, port);
    if (!failure && child.pid) return { child, pid: child.pid, port, ms: Date.now() - t0 };
    if (!/already in use|failed listening/i.test(failure)) break;
  }
  throw new Error(
    `Redis is not reachable at ${redact(url)} and the private redis-server did not start (${failure}; ` +
      `log in ${join(dir, 'redis-server.log')}): start Redis or set REDIS_URL`,
  );
}

function spawnRedis(bin: string, dir: string, port: number): ChildProcess {
  const args = [
    ...['--bind', '127.0.0.1', '--port', String(port), '--dir', resolve(dir)],
    // Append-only so queued jobs survive restarts; BullMQ refuses to run on a server that may evict its keys.
    ...['--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
    ...['--daemonize', 'no', '--logfile', resolve(dir, 'redis-server.log')],
  ];
  // Detached, in its own process group: Ctrl-C on `npm start` must not kill Redis before Baton has drained its
  // queues, and a server left behind by a crashed Baton is found again through the state file.
  const child = spawn(bin, args, { cwd: dir, detached: true, stdio: 'ignore' });
  child.on('error', () => {}); // surfaced by waitForRedis through the exit/PING checks
  child.unref();
  return child;
}

/** Resolves '' once the server answers PING, else a short reason. */
async function waitForRedis(child: ChildProcess, dir: string, port: number): Promise<string> {
  const exited = () => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
  const up = await waitUntil(
    async () => exited() || (await redisAnswers(`redis://127.0.0.1:${port}`)),
    START_TIMEOUT_MS,
  );
  if (child.pid === undefined) return 'could not spawn redis-server';
  if (exited()) return lastRedisWarning(dir) ?? `redis-server exited with code ${child.exitCode ?? child.signalCode}`;
  if (up) return '';
  child.kill('SIGKILL');
  return `no answer to PING within ${START_TIMEOUT_MS / 1000} s`;
}

/** Redis logs why it gave up (e.g. "bind: Address already in use") as a '#'-level line in its log file. */
function lastRedisWarning(dir: string): string | undefined {
  try {
    const lines = readFileSync(join(dir, 'redis-server.log'), 'utf8').split('\n');
    const warning = lines.reverse().find((line) => line.includes(' # '));
    return warning?.slice(warning.indexOf(' # ') + 3).trim();
  } catch {
    return undefined;
  }
}

async function stopRedisServer(child: ChildProcess, statePath: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGTERM'); // redis flushes the append-only file on SIGTERM
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  }
  if (readJson<RedisState>(statePath)?.pid === child.pid) rmSync(statePath, { force: true });
}

/** True when something speaking RESP replies at url within PROBE_TIMEOUT_MS, even with an error (e.g. NOAUTH). */
async function redisAnswers(url: string): Promise<boolean> {
  return withRedis(url, async (client) => {
    try {
      await client.ping();
    } catch (err: unknown) {
      return isRedisReply(err);
    }
    return true;
  });
}

/**
 * Guards against a recycled pid or port: the process must be a redis-server working in dir. Read from procfs rather
 * than asked, because a server still loading a large append-only file does not answer yet.
 */
async function redisOwnsDir(state: RedisState, dir: string): Promise<boolean> {
  try {
    const cwd = readlinkSync(`/proc/${state.pid}/cwd`);
    return cwd === realpathSync(dir) && readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    // No procfs (macOS): ask the server itself.
    return withRedis(`redis://127.0.0.1:${state.port}`, async (client) => {
      const reply = await client.config('GET', 'dir');
      return reply[1] === realpathSync(dir);
    });
  }
}

async function withRedis(url: string, fn: (client: Redis) => Promise<boolean>): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // a failed probe is an answer, not an incident
  try {
    await client.connect();
    return await fn(client);
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function isRedisReply(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

// ---------------------------------------------------------------------------------------------------------------
// Postgres

interface PgProbe {
  reachable: boolean;
  reason?: string;
}

const embeddedPostgres = new Map<string, Promise<InfraHandle>>();

export async function ensurePostgres(opts: EnsurePostgresOptions): Promise<InfraHandle> {
  const url = opts.url || DEFAULT_DATABASE_URL;
  const probe = await probePostgres(url);
  if (probe.reachable) {
    if (probe.reason) opts.log(`postgres at ${redact(url)} answered but refused the connection: ${probe.reason}`);
    return { url, embedded: false, stop: noop };
  }
  if (opts.urlExplicit) {
    throw new Error(`Postgres is not reachable at ${redact(url)} (${probe.reason}): start it or fix DATABASE_URL`);
  }
  const dir = resolve(opts.dataDir, 'pglite');
  // PGlite takes no lock on its data directory, so a second open in this process would corrupt it: share the first.
  const running = embeddedPostgres.get(dir);
  if (running) return { ...(await running), stop: noop };
  const starting = startPglite(dir, url, probe.reason ?? '', opts.log);
  embeddedPostgres.set(dir, starting);
  starting.catch(() => embeddedPostgres.delete(dir));
  return starting;
}

/** Reachable means a Postgres server answered; a missing database is fine because the migrator creates it. */
async function probePostgres(url: string): Promise<PgProbe> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    return { reachable: true };
  } catch (err: unknown) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return { reachable: true, reason: code === '3D000' ? undefined : message };
    }
    return { reachable: false, reason: message || 'no answer' };
  } finally {
    await client.end().catch(() => {});
  }
}

async function startPglite(dir: string, url: string, reason: string, log: InfraLog): Promise<InfraHandle> {
  const t0 = Date.now();
  mkdirSync(dir, { recursive: true });
  const lockPath = `${dir}.lock`;
  const holder = takeProcessLock(lockPath);
  if (holder) {
    throw new Error(
      `Postgres is not reachable at ${redact(url)} (${reason}) and the embedded Postgres data in ${displayPath(dir)} ` +
        `is in use by ${holder > 0 ? `process ${holder}` : 'another process'}: stop it or set DATABASE_URL`,
    );
  }
  try {
    const { db, server, port } = await servePglite(dir);
    log(
      `postgres not reachable at ${redact(url)}; started an embedded Postgres (PGlite) on 127.0.0.1:${port} ` +
        `(data in ${displayPath(dir)}, one connection at a time)`,
      { startMs: Date.now() - t0 },
    );
    const stop = once(async () => {
      embeddedPostgres.delete(dir);
      await server.stop();
      await db.close();
      rmSync(lockPath, { force: true });
    });
    const pgUrl = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    return { url: pgUrl, embedded: true, maxConnections: PGLITE_MAX_CONNECTIONS, stop };
  } catch (err: unknown) {
    rmSync(lockPath, { force: true });
    throw err;
  }
}

async function servePglite(dir: string) {
  // Loaded only on fallback: PGlite is a large WASM build. Both packages ship a CommonJS entry (exports.require).
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(dir);
  // Port 0: the OS picks a free port, no race with other processes.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: PGLITE_MAX_CONNECTIONS });
  try {
    await server.start();
  } catch (err: unknown) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
  return { db, server, port };
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Creates path holding our pid and returns 0, or returns the pid of the live process holding it (-1: unknown, it is
 * still writing its pid). A lock left behind by a dead process is taken over.
 */
function takeProcessLock(path: string): number {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return 0;
    } catch (err: unknown) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = lockHolder(path);
    if (holder) return holder;
    rmSync(path, { force: true });
  }
  return -1;
}

function lockHolder(path: string): number {
  try {
    const pid = Number(readFileSync(path, 'utf8'));
    if (pid > 0) return isAlive(pid) ? pid : 0;
    return Date.now() - statSync(path).mtimeMs < 5000 ? -1 : 0;
  } catch {
    return 0; // released meanwhile
  }
}

/** Runs fn while holding the lock at path, waiting (bounded) while another live process holds it. */
async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS * 2;
  for (let holder = takeProcessLock(path); holder; holder = takeProcessLock(path)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for process ${holder} to release ${path}`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

/** Polls check every 100 ms until it returns true or timeoutMs have passed. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** URLs end up in logs and error messages: never print a password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : path;
}
