import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadOrCreateAdminKey } from './admin-key';

const silent = { warn: () => undefined };

/**
 * Runs loadOrCreateAdminKey in a separate process, as `start:api` and `start:worker` started together would. Every
 * process waits for the same instant `at` first, so they really race rather than start one after another.
 */
function inProcess(dataDir: string, at: number): Promise<{ code: number | null; out: string }> {
  const load = `require(${JSON.stringify(join(__dirname, 'admin-key.js'))}).loadOrCreateAdminKey`;
  const script = `const f = ${load}; while (Date.now() < ${at}); process.stdout.write(f(${JSON.stringify(dataDir)}, { warn() {} }))`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the generated admin key', () => {
  test('is made once, kept private, and read back on the next start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-admin-'));
    try {
      const first = loadOrCreateAdminKey(dir, silent);
      assert.match(first, /^bk_/);
      assert.equal(loadOrCreateAdminKey(dir, silent), first);
      assert.equal(statSync(join(dir, 'admin-api-key')).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ['admin-api-key'], 'no candidate files are left behind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('processes starting together all get the same key, and none fails', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'baton-admin-'));
      try {
        const at = Date.now() + 1500;
        const results = await Promise.all(Array.from({ length: 6 }, () => inProcess(dir, at)));
        assert.deepEqual(
          results.map((r) => r.code),
          [0, 0, 0, 0, 0, 0],
          results.map((r) => r.out).join('\n'),
        );
        const key = readFileSync(join(dir, 'admin-api-key'), 'utf8').trim();
        assert.deepEqual(new Set(results.map((r) => r.out)), new Set([key]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
