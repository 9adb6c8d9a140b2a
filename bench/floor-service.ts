// The smallest services that do what Baton's task path does, for `npm run bench:floor`: no framework, no auth, no
// validation, no fairness, no coalescing. Run as a child process by floor.bench.ts:
//   node dist/bench/floor-service.js api     node:http on FLOOR_PORT: POST /tasks → (INSERT a row) → queue.add → 202
//   node dist/bench/floor-service.js worker  a BullMQ Worker: a no-op, (then UPDATE the row to succeeded); prints
//                                            `done` once FLOOR_N jobs have completed
//   node dist/bench/floor-service.js simulator  the cluster simulator at zero latency, no faults; prints its URL
// FLOOR_PG=each adds the Postgres writes a service that keeps its system of record in Postgres and its queue in BullMQ
// must make at the least: one INSERT per request and one UPDATE per job, on a pool. FLOOR_PG=batched makes the same
// writes, gathered: whatever arrives while a statement runs goes in the next one (one in flight per process).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { Queue, Worker } from 'bullmq';
import { startSimulator } from '@baton/cluster';
import { QUIET_CLUSTER } from './support';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const role = process.argv[2];
if (role === 'simulator') {
  void startSimulator({ seed: 'floor', ...QUIET_CLUSTER }).then((sim) => console.log(sim.url));
  process.on('SIGTERM', () => process.exit(0));
}
const mode = process.env.FLOOR_PG ?? '0';
const pool = mode !== '0' ? new Pool({ connectionString: env('FLOOR_DATABASE_URL'), max: 10 }) : null;
/** The queue's connection and prefix, for the api and worker roles. */
const queueOptions = () => ({
  connection: new IORedis(env('FLOOR_REDIS_URL'), { maxRetriesPerRequest: null }),
  prefix: env('FLOOR_PREFIX'),
});
const JOB_OPTIONS = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };

/** Calls gathered while a statement runs go together in the next one. */
function gathered<T>(run: (items: T[]) => Promise<unknown>): (item: T) => Promise<void> {
  let pending: { item: T; done: (error?: Error) => void }[] = [];
  let busy = false;
  const flush = async (): Promise<void> => {
    if (busy || pending.length === 0) return;
    busy = true;
    const batch = pending;
    pending = [];
    const error = await run(batch.map((b) => b.item)).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
    for (const b of batch) b.done(error);
    busy = false;
    void flush();
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ item, done: (error) => (error ? reject(error) : resolve()) });
      queueMicrotask(() => void flush());
    });
}

type Row = { id: string; handler: string; payload: string };
const insertOne = (r: Row) =>
  pool!.query('INSERT INTO floor_tasks (id, handler, payload) VALUES ($1, $2, $3)', [r.id, r.handler, r.payload]);
const insertMany = gathered((rows: Row[]) =>
  pool!.query(
    'INSERT INTO floor_tasks (id, handler, payload) SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])',
    [rows.map((r) => r.id), rows.map((r) => r.handler), rows.map((r) => r.payload)],
  ),
);
const SUCCEED = `UPDATE floor_tasks SET status = 'succeeded', finished_at = now() WHERE id = ANY($1::uuid[])`;
const succeedOne = (id: string) => pool!.query(SUCCEED, [[id]]);
const succeedMany = gathered((ids: string[]) => pool!.query(SUCCEED, [ids]));

function api(): void {
  const queue = new Queue('tasks', queueOptions());
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { handler: string; payload: unknown };
          const id = randomUUID();
          const row = { id, handler: body.handler, payload: JSON.stringify(body.payload) };
          if (mode === 'each') await insertOne(row);
          if (mode === 'batched') await insertMany(row);
          await queue.add(body.handler, { id }, { ...JOB_OPTIONS, jobId: id });
          res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'queued' }));
        } catch (error) {
          res.writeHead(500).end(String(error));
        }
      })();
    });
  });
  server.listen(Number(env('FLOOR_PORT')), '127.0.0.1', () => console.log('listening'));
  process.on('SIGTERM', () => process.exit(0));
}

function worker(): void {
  const n = Number(env('FLOOR_N'));
  let completed = 0;
  const w = new Worker(
    'tasks',
    async (job) => {
      const { id } = job.data as { id: string };
      if (mode === 'each') await succeedOne(id);
      if (mode === 'batched') await succeedMany(id);
      return { ok: true };
    },
    { ...queueOptions(), concurrency: Number(env('FLOOR_CONCURRENCY')) },
  );
  w.on('completed', () => {
    if (++completed === n) console.log('done');
  });
  w.on('failed', (job, error) => console.log(`failed ${job?.id}: ${error.message}`));
  void w.waitUntilReady().then(() => console.log('ready'));
  process.on('SIGTERM', () => process.exit(0));
}

if (role === 'api') api();
else if (role === 'worker') worker();
else if (role !== 'simulator') throw new Error('usage: floor-service.js api|worker|simulator');
