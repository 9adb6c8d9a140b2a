// Baton deployments for benchmarks: in this process, or as the API and worker processes that production runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@baton/runtime';
import { dropPrefix, freshDatabase, rand, startBaton, TEST_REDIS_URL } from '../test/support/harness';
import { pollUntil } from './support';

/** A running Baton: where its API listens, its admin key and database, and how to stop it. */
export interface Deployment {
  url: string;
  adminKey: string;
  databaseUrl: string;
  /** Starts the worker process, for a deployment made without one (`worker: false`). */
  startWorker?(): void;
  /** Process ids by app, for a deployment of separate processes (RSS sampling). */
  pids?(): Record<string, number>;
  close(): Promise<void>;
}

export async function inThisProcess(env: Record<string, string>): Promise<Deployment> {
  const h = await startBaton(env);
  return { url: h.url, adminKey: h.adminKey, databaseUrl: h.databaseUrl, close: () => h.close() };
}

/** The API and the worker as separate processes, from the built apps, as `npm run start:api` / `start:worker` run. */
export async function asProcesses(
  settings: Record<string, string>,
  /**
   * `root`: the checkout whose built apps run (default: this one), to compare two builds (bench:compare). `flags`: node
   * flags for both processes, after the start scripts' own (default: BENCH_CHILD_FLAGS, split on spaces).
   */
  opts: { worker?: boolean; root?: string; flags?: string[] } = {},
): Promise<Deployment> {
  const db = await freshDatabase();
  const prefix = `bench_baton_${rand(4)}`;
  const port = await freePort();
  const adminKey = `bk_bench_${rand(16)}`;
  const env = {
    ...process.env,
    ...settings,
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    ADMIN_API_KEY: adminKey,
    PORT: String(port),
    HOST: '127.0.0.1',
  };
  const children: ChildProcess[] = [];
  const pids: Record<string, number> = {};
  const start = (main: string) => {
    // The start scripts' flags first: a flag given after them (BENCH_CHILD_FLAGS, a side of bench:compare) wins.
    const flags = [...childFlags(nodeFlags(opts.root)), ...(opts.flags ?? childFlags(process.env.BENCH_CHILD_FLAGS))];
    const child = spawn(process.execPath, [...flags, main], {
      cwd: opts.root,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    pids[main.split('/')[2]] = child.pid!;
    return child;
  };
  const url = `http://127.0.0.1:${port}`;
  start('dist/apps/api/src/main.js');
  await pollUntil(
    () =>
      fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    {
      everyMs: 100,
      stalledMs: 60_000,
      progress: () => 0,
      what: 'the API to listen',
    },
  );
  if (opts.worker !== false) {
    start('dist/apps/worker/src/main.js'); // the API has migrated the database by now
    await workerRegistered(db.url);
  }
  return {
    url,
    adminKey,
    databaseUrl: db.url,
    startWorker: opts.worker === false ? () => void start('dist/apps/worker/src/main.js') : undefined,
    pids: () => ({ ...pids }),
    async close() {
      await Promise.all(
        children.map(
          (c) => new Promise((r) => (c.exitCode !== null ? r(null) : (c.once('exit', r), c.kill('SIGTERM')))),
        ),
      );
      await dropPrefix(TEST_REDIS_URL, prefix);
      await db.drop();
    },
  };
}

/**
 * Waits until a worker process has registered (it does so once its queue workers run): a benchmark measures the
 * service at work, not the worker process booting (about 2 s of CPU here: modules, Nest, the Prisma client) while the
 * first requests arrive, which no raw baseline pays either.
 */
async function workerRegistered(databaseUrl: string): Promise<void> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    await pollUntil(
      async () => (await pg.query(`SELECT 1 FROM workers WHERE role = 'worker' LIMIT 1`)).rowCount === 1,
      { everyMs: 100, stalledMs: 60_000, progress: () => 0, what: 'the worker process to register' },
    );
  } finally {
    await pg.end();
  }
}

/** Node flags from a space-separated setting, empty pieces dropped: node takes '' as the script to run. */
export function childFlags(setting: string | undefined): string[] {
  return (setting ?? '').split(' ').filter(Boolean);
}

/**
 * The node flags the start scripts of the checkout at `root` (default this one) pass, package.json's
 * `config.nodeFlags`: benchmarks run the apps as `npm run start:api` / `start:worker` do.
 */
export function nodeFlags(root = join(__dirname, '../..')): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { config?: { nodeFlags?: string } };
  return pkg.config?.nodeFlags ?? '';
}

export async function tenantKey(d: Deployment): Promise<string> {
  const call = async (path: string, body: unknown) => {
    const res = await fetch(d.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}`);
    return (await res.json()) as { id: string; secret: string };
  };
  const tenant = await call('/v1/tenants', { name: 'bench' });
  return (await call(`/v1/tenants/${tenant.id}/api-keys`, { role: 'member' })).secret;
}
