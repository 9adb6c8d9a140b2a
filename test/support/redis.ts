import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { freePort } from '@baton/runtime';

/**
 * A redis-server of the test's own, on a free port, that the test may stop (SIGKILL), flush and start again. With
 * `appendOnly`, it keeps an append-only file (fsync every second, Redis' default) in its directory and a restart
 * loads it back, as a production Redis restarted after a crash does.
 */
export async function startPrivateRedis(
  opts: { appendOnly?: boolean } = {},
): Promise<{ url: string; start(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir]
        .concat(['--appendonly', opts.appendOnly ? 'yes' : 'no'])
        .concat(opts.appendOnly ? ['--appendfsync', 'everysec'] : []),
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      const probe = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('private redis did not start');
  };
  await start();
  return {
    url,
    start,
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
  };
}
