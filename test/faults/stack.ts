// What the fault suite runs against: a Postgres and a Redis of its own (so that stopping, killing or flushing them
// touches nobody else), and Baton's three apps as separate processes, each of which can be killed and started again.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@baton/runtime';
import { waitFor } from '../support/harness';

/** Postgres server binaries: PG_BIN, or the newest version Debian's packages installed. */
const PG_BIN = process.env.PG_BIN ?? newestPostgresBin();

function newestPostgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql', { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => b - a);
  if (versions.length === 0) throw new Error('no Postgres server under /usr/lib/postgresql; set PG_BIN');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** A Postgres cluster in a temporary directory on a free port, that the suite stops and starts for real. */
export interface PrivatePostgres {
  /** Connection URL of `database` on this server. */
  url(database: string): string;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Postgres refuses to run as root: as root, its commands run as the `postgres` user, which owns the directory. */
function pgCommand(bin: string, args: string[]): void {
  const asRoot = userInfo().uid === 0;
  const [cmd, argv] = asRoot
    ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, bin), ...args]]
    : [join(PG_BIN, bin), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-faults-pg-'));
  if (userInfo().uid === 0) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  pgCommand('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Durability settings off: this server holds throwaway test data, and the suite must be quick on a small machine.
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const start = () => {
    pgCommand('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', options, 'start']);
    return Promise.resolve();
  };
  const stop = () => {
    pgCommand('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    return Promise.resolve();
  };
  await start();
  return {
    url: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    start,
    stop,
    async close() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error('running as root needs a postgres user to run Postgres');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

/** One of Baton's apps (`dist/apps/<name>/src/main.js`) as a child process, restartable with the same settings. */
export class AppProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private out = '';

  constructor(
    readonly name: 'api' | 'worker' | 'gpu-worker',
    private readonly env: Record<string, string>,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The end of what it printed (all its lives), for failure messages. */
  tail(): string {
    return this.out;
  }

  start(): void {
    const child = spawn(process.execPath, ['--enable-source-maps', `dist/apps/${this.name}/src/main.js`], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer) => void (this.out = (this.out + d.toString()).slice(-6_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  /** SIGKILL: no shutdown hook runs, whatever it was doing is cut short. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Baton's API, worker and GPU worker on one database and queue prefix. */
export interface Deployment {
  url: string;
  adminKey: string;
  databaseUrl: string;
  api: AppProcess;
  worker: AppProcess;
  gpu: AppProcess;
  /** Starts an app again (after a kill) and waits until it serves. */
  restart(app: AppProcess): Promise<void>;
  close(): Promise<void>;
}

export async function deploy(
  pg: PrivatePostgres,
  redisUrl: string,
  settings: Record<string, string>,
): Promise<Deployment> {
  const suffix = Math.random().toString(36).slice(2, 8);
  const database = `faults_${suffix}`;
  const admin = new Client({ connectionString: pg.url('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const port = await freePort();
  const adminKey = `bk_faults_${suffix}${suffix}${suffix}`;
  const env = {
    ...settings,
    DATABASE_URL: pg.url(database),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `faults_${suffix}`,
    ADMIN_API_KEY: adminKey,
    PORT: String(port),
    HOST: '127.0.0.1',
  };
  const url = `http://127.0.0.1:${port}`;
  const api = new AppProcess('api', env);
  const worker = new AppProcess('worker', env);
  const gpu = new AppProcess('gpu-worker', env);
  const registered = async (pid: number | undefined): Promise<boolean> => {
    const db = new Client({ connectionString: env.DATABASE_URL });
    db.on('error', () => undefined);
    try {
      await db.connect();
      return (await db.query('SELECT 1 FROM workers WHERE pid = $1', [pid])).rows.length > 0;
    } catch {
      return false;
    } finally {
      await db.end().catch(() => undefined);
    }
  };

  const ready = async (app: AppProcess) => {
    await waitFor(
      async () => {
        if (!app.running) throw new Error(`${app.name} exited while starting:\n${app.tail()}`);
        if (app.name === 'api')
          return fetch(`${url}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
        return registered(app.pid);
      },
      90_000,
      `the ${app.name} process to serve`,
    );
  };
  const restart = async (app: AppProcess) => {
    app.start();
    await ready(app);
  };

  await restart(api); // migrates the database before the others start
  worker.start();
  gpu.start();
  await Promise.all([ready(worker), ready(gpu)]);
  return {
    url,
    adminKey,
    databaseUrl: env.DATABASE_URL,
    api,
    worker,
    gpu,
    restart,
    async close() {
      await Promise.all([api.stop(), worker.stop(), gpu.stop()]);
    },
  };
}
