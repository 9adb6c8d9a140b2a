import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { loadConfig } from '@baton/config';
import { createLogger } from '@baton/observability';
import { createRuntime, type Runtime } from '@baton/runtime';
import { createApi } from '../../apps/api/src/api.bootstrap';
import { startWorker } from '../../apps/worker/src/worker.bootstrap';

export const TEST_PG_SERVER = process.env.TEST_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Harness {
  url: string;
  adminKey: string;
  runtime: Runtime;
  prefix: string;
  databaseUrl: string;
  request<T = any>(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply<T>>;
  /** A new tenant and an API key of that role in it. */
  tenant(role?: 'member' | 'viewer' | 'admin'): Promise<{ tenantId: string; key: string; keyId: string }>;
  startWorker(): Promise<INestApplicationContext>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export const rand = (n = 6): string => randomBytes(n).toString('hex');

/** A fresh database on the test server, dropped by the returned function. */
export function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `baton_t_${rand()}`;
  return Promise.resolve({
    url: `${TEST_PG_SERVER}/${name}`,
    drop: async () => {
      const admin = new Client({ connectionString: `${TEST_PG_SERVER}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
    },
  });
}

/** Deletes every Redis key under a queue prefix. */
export async function dropPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new IORedis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
}

/**
 * Boots the real app in this process on a free port, against the real Redis and a fresh Postgres database, with
 * a fresh queue prefix; the worker too unless `worker: false`. Everything is removed again by close().
 */
export async function startBaton(
  env: Record<string, string> = {},
  opts: {
    worker?: boolean;
    /** e.g. to reach the fresh database through a proxy */ databaseUrl?: (url: string) => string;
    /** listen here instead of a free port (when a setting such as PUBLIC_URL must name it) */ port?: number;
  } = {},
): Promise<Harness> {
  const db = await freshDatabase();
  const prefix = `bt${rand(4)}`;
  const adminKey = `bk_admin_${rand(16)}`;
  const config = loadConfig({
    DATABASE_URL: opts.databaseUrl ? opts.databaseUrl(db.url) : db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    ADMIN_API_KEY: adminKey,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    RECONCILE_INTERVAL_MS: '60000',
    TASK_HTTP_ALLOW_PRIVATE_NETWORKS: 'true',
    TASK_BACKOFF_BASE_MS: '50',
    TASK_BACKOFF_MAX_MS: '200',
    ...env,
  });
  const runtime = await createRuntime(config, {
    name: 'test',
    migrate: true,
    logger: createLogger({ level: config.LOG_LEVEL, name: 'test' }),
  });
  const api: NestFastifyApplication = await createApi(runtime);
  await api.listen(opts.port ?? 0, '127.0.0.1');
  const url = `http://127.0.0.1:${(api.getHttpServer().address() as AddressInfo).port}`;
  let worker: INestApplicationContext | undefined = opts.worker === false ? undefined : await startWorker(runtime);

  const request: Harness['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key !== undefined) headers.authorization = `Bearer ${o.key}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    } else if (o.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, headers: res.headers, body: parsed as any };
  };

  return {
    url,
    adminKey,
    runtime,
    prefix,
    databaseUrl: db.url,
    request,
    async tenant(role = 'member') {
      const t = await request('POST', '/v1/tenants', { key: adminKey, body: { name: `t-${rand(3)}` } });
      if (t.status !== 201) throw new Error(`tenant create failed: ${t.status} ${JSON.stringify(t.body)}`);
      const k = await request('POST', `/v1/tenants/${t.body.id}/api-keys`, { key: adminKey, body: { role } });
      if (k.status !== 201) throw new Error(`key create failed: ${k.status} ${JSON.stringify(k.body)}`);
      return { tenantId: t.body.id, key: k.body.secret, keyId: k.body.id };
    },
    async startWorker() {
      worker ??= await startWorker(runtime);
      return worker;
    },
    async stopWorker() {
      await worker?.close();
      worker = undefined;
    },
    async close() {
      await api.close().catch(() => undefined);
      await worker?.close().catch(() => undefined);
      await runtime.close().catch(() => undefined);
      await dropPrefix(TEST_REDIS_URL, prefix).catch(() => undefined);
      await db.drop();
    },
  };
}

/** The environment of an app process (start:worker, start:gpu-worker) sharing this harness's database and prefix. */
export function appEnv(h: Harness, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: h.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: h.prefix,
    ADMIN_API_KEY: h.adminKey,
    // No metrics endpoint unless a test asks for one: several worker processes on one machine would compete for it.
    METRICS_PORT: '0',
    GPU_METRICS_PORT: '0',
    ...env,
  };
}

/** A port nothing listens on now, to hand to startBaton when a setting must name the port up front. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value, or fails after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
