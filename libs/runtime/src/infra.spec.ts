// Real processes, no mocks: a private redis-server, an embedded PGlite, and the machine's own Redis and Postgres.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { ensurePostgres, ensureRedis, InfraHandle } from './infra';

const TIMEOUT = { timeout: 60_000 };

/** A port nobody listens on: bind it, read it, release it. */
function unusedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function collectingLog() {
  const lines: string[] = [];
  return { lines, log: (msg: string) => void lines.push(msg) };
}

async function redisPing(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.ping();
  } catch (err: unknown) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    client.disconnect();
  }
}

async function redisConfig(url: string, key: string): Promise<string> {
  const client = new Redis(url);
  try {
    return (await client.config('GET', key))[1];
  } finally {
    client.disconnect();
  }
}

describe('ensureRedis', () => {
  let dataDir: string;
  const handles: InfraHandle[] = [];

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'baton-infra-redis-'));
  });

  after(async () => {
    for (const handle of handles) await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    'starts a private redis-server when the URL is unreachable, reuses it, and stop() stops it',
    TIMEOUT,
    async () => {
      const unreachable = `redis://127.0.0.1:${await unusedPort()}`;
      const { lines, log } = collectingLog();

      const first = await ensureRedis({ url: unreachable, dataDir, log });
      handles.push(first);
      assert.equal(first.embedded, true);
      assert.notEqual(first.url, unreachable);
      assert.equal(await redisPing(first.url), 'PONG');
      assert.equal(await redisConfig(first.url, 'maxmemory-policy'), 'noeviction');
      assert.equal(await redisConfig(first.url, 'appendonly'), 'yes');
      assert.match(lines[0], /redis not reachable at .*; started a private redis-server on 127\.0\.0\.1:\d+/);
      assert.ok(existsSync(join(dataDir, 'redis', 'baton-redis.json')), 'state file records the private server');

      const second = await ensureRedis({ url: unreachable, dataDir, log });
      handles.push(second);
      assert.equal(second.url, first.url, 'second call reuses the running server');
      assert.equal(second.embedded, true);
      assert.match(lines[1], /already running/);
      await second.stop(); // did not start it: must leave it running
      assert.equal(await redisPing(first.url), 'PONG');

      const { pid } = JSON.parse(readFileSync(join(dataDir, 'redis', 'baton-redis.json'), 'utf8')) as { pid: number };
      await first.stop();
      assert.notEqual(await redisPing(first.url), 'PONG');
      assert.throws(() => process.kill(pid, 0), /ESRCH/);
      assert.ok(!existsSync(join(dataDir, 'redis', 'baton-redis.json')), 'state file removed on stop');
    },
  );

  test('throws naming REDIS_URL when Redis is unreachable and redis-server is not on the PATH', TIMEOUT, async () => {
    const unreachable = `redis://127.0.0.1:${await unusedPort()}`;
    const path = process.env.PATH;
    process.env.PATH = dataDir; // holds no redis-server
    try {
      await assert.rejects(ensureRedis({ url: unreachable, dataDir, log: () => {} }), /REDIS_URL/);
    } finally {
      process.env.PATH = path;
    }
  });

  test('returns a reachable Redis unchanged', TIMEOUT, async () => {
    const { lines, log } = collectingLog();
    const handle = await ensureRedis({ url: 'redis://127.0.0.1:6379', dataDir, log });
    assert.deepEqual(
      { url: handle.url, embedded: handle.embedded },
      { url: 'redis://127.0.0.1:6379', embedded: false },
    );
    assert.deepEqual(lines, []);
    await handle.stop(); // a no-op: the machine's Redis must keep running
    assert.equal(await redisPing('redis://127.0.0.1:6379'), 'PONG');
  });
});

describe('ensurePostgres', () => {
  let dataDir: string;
  const handles: InfraHandle[] = [];

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'baton-infra-pg-'));
  });

  after(async () => {
    for (const handle of handles) await handle.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test(
    'falls back to an embedded PGlite that node-postgres can use, keeping data across restarts',
    TIMEOUT,
    async () => {
      const unreachable = `postgresql://postgres@127.0.0.1:${await unusedPort()}/baton`;
      const { lines, log } = collectingLog();

      const first = await ensurePostgres({ url: unreachable, urlExplicit: false, dataDir, log });
      handles.push(first);
      assert.equal(first.embedded, true);
      assert.equal(first.maxConnections, 1);
      assert.match(
        lines[0],
        /postgres not reachable at .*; started an embedded Postgres \(PGlite\) on 127\.0\.0\.1:\d+/,
      );
      const client = new Client({ connectionString: first.url });
      await client.connect();
      await client.query('CREATE TABLE job (id int PRIMARY KEY, name text NOT NULL)');
      await client.query('INSERT INTO job (id, name) VALUES ($1, $2), ($3, $4)', [1, 'alpha', 2, 'beta']);
      const { rows } = await client.query('SELECT id, name FROM job ORDER BY id');
      assert.deepEqual(rows, [
        { id: 1, name: 'alpha' },
        { id: 2, name: 'beta' },
      ]);
      await client.end();
      await first.stop();
      assert.ok(!existsSync(join(dataDir, 'pglite.lock')), 'lock released on stop');

      const again = await ensurePostgres({ url: unreachable, urlExplicit: false, dataDir, log });
      handles.push(again);
      const reader = new Client({ connectionString: again.url });
      await reader.connect();
      assert.equal((await reader.query('SELECT count(*)::int AS n FROM job')).rows[0].n, 2, 'data kept under dataDir');
      await reader.end();
      await again.stop();
    },
  );

  test('throws naming DATABASE_URL when an explicit URL is unreachable', TIMEOUT, async () => {
    const unreachable = `postgresql://postgres:secret@127.0.0.1:${await unusedPort()}/baton`;
    const { log } = collectingLog();
    await assert.rejects(ensurePostgres({ url: unreachable, urlExplicit: true, dataDir, log }), (err: Error) => {
      assert.match(err.message, /DATABASE_URL/);
      assert.doesNotMatch(err.message, /secret|\n/, 'one line, password redacted');
      return true;
    });
  });

  test('returns a reachable Postgres unchanged, even when its database does not exist yet', TIMEOUT, async () => {
    for (const url of [
      'postgresql://postgres@127.0.0.1:5432/postgres',
      'postgresql://postgres@127.0.0.1:5432/baton_x',
    ]) {
      const { lines, log } = collectingLog();
      const handle = await ensurePostgres({ url, urlExplicit: false, dataDir, log });
      assert.deepEqual({ url: handle.url, embedded: handle.embedded }, { url, embedded: false });
      assert.equal(handle.maxConnections, undefined);
      assert.deepEqual(lines, []);
      await handle.stop();
    }
  });
});
