import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { freePort } from '@baton/runtime';
import { freshDatabase, rand, TEST_REDIS_URL, waitFor, dropPrefix } from './support/harness';

const MAIN = 'dist/apps/api/src/main.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

describe('settings are validated at boot', () => {
  for (const [name, value] of [
    ['PORT', 'abc'],
    ['REDIS_URL', 'not a url'],
    ['TASK_CONCURRENCY', '0'],
    ['LOG_LEVEL', 'loud'],
  ]) {
    test(`${name}=${value} stops the process with one line naming it`, () => {
      const r = spawnSync(process.execPath, [MAIN], {
        env: { ...process.env, [name]: value },
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(r.status, 1);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^baton: invalid setting ${name}: expected .+, got "${value}"$`));
    });
  }
});

describe('npm start: the API, workers and GPU worker in one process', () => {
  test('boots, runs a task end to end, logs JSON with ids and no secrets, stops on SIGTERM', async () => {
    const db = await freshDatabase();
    const prefix = `bp${rand(4)}`;
    cleanups.push(db.drop, () => dropPrefix(TEST_REDIS_URL, prefix));
    const port = await freePort();
    const adminKey = `bk_admin_${rand(16)}`;
    const child = spawn(process.execPath, [MAIN, '--all'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        ADMIN_API_KEY: adminKey,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitFor(() => Promise.resolve(out.includes('Baton listening')), 60_000, 'the listening line');
      const base = `http://127.0.0.1:${port}`;
      const call = async (method: string, path: string, key: string, body?: unknown) => {
        const res = await fetch(base + path, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
            'x-request-id': `proc-${rand(3)}`,
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      const tenant = await call('POST', '/v1/tenants', adminKey, { name: 'proc' });
      const key = await call('POST', `/v1/tenants/${tenant.body.id}/api-keys`, adminKey, { role: 'member' });
      const task = await call('POST', '/v1/tasks', key.body.secret, { handler: 'noop' });
      assert.equal(task.status, 202);
      await waitFor(
        async () => (await call('GET', `/v1/tasks/${task.body.id}`, key.body.secret)).body.status === 'succeeded',
        20_000,
        'the task',
      );

      const lines = out.trim().split('\n').filter(Boolean);
      const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>); // every line is JSON
      assert.ok(
        parsed.some((l) => l.msg === 'gpu worker started'),
        'the GPU worker runs in the same process',
      );
      assert.ok(
        parsed.some((l) => l.msg === 'worker started'),
        'the queue workers run in the same process',
      );
      const { Client } = await import('pg');
      const pg = new Client({ connectionString: db.url });
      await pg.connect();
      const { rows } = await pg.query<{ role: string; pid: number }>('SELECT role, pid FROM workers ORDER BY role');
      await pg.end();
      assert.deepEqual(
        rows,
        [
          { role: 'gpu-worker', pid: child.pid },
          { role: 'worker', pid: child.pid },
        ],
        'both register in the workers table',
      );
      const request = parsed.find((l) => l.msg === 'request' && l.tenantId === tenant.body.id);
      assert.ok(request, 'request lines carry the tenant id');
      assert.match(String(request.requestId), /^proc-/);
      assert.ok(!out.includes(adminKey), 'the admin key never reaches a log');
      assert.ok(!out.includes(key.body.secret), 'API keys never reach a log');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'a clean shutdown on SIGTERM');
    const { Client } = await import('pg');
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    const { rows } = await pg.query('SELECT id FROM workers');
    await pg.end();
    assert.equal(rows.length, 0, 'a clean stop takes the process out of the workers table');
  });
});
