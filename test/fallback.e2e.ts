import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { waitFor } from './support/harness';

// Without Redis or Postgres in reach, `npm start` runs on a private redis-server and an embedded Postgres (PGlite).
// The test makes "not in reach" real: Baton runs in a network namespace of its own, where 127.0.0.1 has nothing
// listening, and the test talks to it from inside that namespace. Creating one needs root (CI here runs as root).
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;

describe('npm start on a bare machine', () => {
  test(
    'falls back to a private redis-server and PGlite, says so, and runs a task',
    { skip: !canUnshare && 'needs root for a network namespace' },
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'baton-fallback-'));
      const child = spawn(
        'unshare',
        ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" dist/apps/api/src/main.js --all', process.execPath],
        {
          env: {
            ...process.env,
            PORT: '3999',
            HOST: '127.0.0.1',
            DATA_DIR: dataDir,
            LOG_LEVEL: 'info',
            DATABASE_URL: '',
            REDIS_URL: '',
            ADMIN_API_KEY: '',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // curl inside the child's namespace: the only way in.
      const inside = (args: string[]) => {
        const r = spawnSync('nsenter', ['-t', String(child.pid), '-n', 'curl', '-s', '-m', '5', ...args], {
          encoding: 'utf8',
        });
        return r.stdout ? (JSON.parse(r.stdout) as Record<string, any>) : {};
      };
      try {
        await waitFor(
          () => Promise.resolve(out.includes('Baton listening') || child.exitCode !== null),
          90_000,
          'Baton to listen',
        );
        assert.match(out, /redis not reachable at redis:\/\/127\.0\.0\.1:6379; started a private redis-server/);
        assert.match(
          out,
          /postgres not reachable at postgresql:\/\/postgres@127\.0\.0\.1:5432\/baton; started an embedded Postgres \(PGlite\)/,
        );
        const admin = readFileSync(join(dataDir, 'admin-api-key'), 'utf8').trim();
        const json = ['-H', 'content-type: application/json'];
        const tenant = inside([
          '-XPOST',
          'http://127.0.0.1:3999/v1/tenants',
          '-H',
          `authorization: Bearer ${admin}`,
          ...json,
          '-d',
          '{"name":"bare"}',
        ]);
        const key = inside([
          '-XPOST',
          `http://127.0.0.1:3999/v1/tenants/${tenant.id}/api-keys`,
          '-H',
          `authorization: Bearer ${admin}`,
          ...json,
          '-d',
          '{"role":"member"}',
        ]);
        const auth = ['-H', `authorization: Bearer ${key.secret}`];
        const task = inside([
          '-XPOST',
          'http://127.0.0.1:3999/v1/tasks',
          ...auth,
          ...json,
          '-d',
          '{"handler":"sleep","payload":{"ms":200}}',
        ]);
        assert.match(String(task.id), /^tsk_/);
        await waitFor(
          () => Promise.resolve(inside([`http://127.0.0.1:3999/v1/tasks/${task.id}`, ...auth]).status === 'succeeded'),
          20_000,
          'the task',
        );
        assert.deepEqual(inside(['http://127.0.0.1:3999/readyz']).checks, { redis: 'ok', postgres: 'ok' });
      } finally {
        child.kill('SIGTERM');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
      }
      assert.equal(spawnSync('pgrep', ['-f', dataDir]).status, 1, 'the private redis-server stopped with Baton');
    },
  );
});
