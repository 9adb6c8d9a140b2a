// The smallest services that do what Baton's task path does, for `npm run bench:floor`: no framework, no auth, no
// validation, no fairness, no coalescing. Run as a child process by floor.bench.ts:
//   node dist/bench/floor-service.js api     node:http on FLOOR_PORT: POST /tasks → (INSERT a row) → queue.add → 202
//   node dist/bench/floor-service.js worker  a BullMQ Worker: a no-op, (then UPDATE the row to succeeded); prints
//                                            `done` once FLOOR_N jobs have completed
//   node dist/bench/floor-service.js simulator  the cluster simulator at zero latency, no faults; prints its URL
// FLOOR_PG=each adds the Postgres writes a service that keeps its system of record in Postgres and its queue in BullMQ
// must make at the least: one INSERT per request and one UPDATE per job, on a pool. FLOOR_PG=batched makes the same
// writes, gathered by Baton's Coalescer as its task store runs it (one statement in flight per process).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { Queue, Worker } from 'bullmq';
import { startSimulator } from '@baton/cluster';
import { Coalescer } from '@baton/core';
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
const mode = (process.env.FLOOR_PG ?? '0') as '0' | 'each' | 'batched';
const pool = mode !== '0' ? new Pool({ connectionString: env('FLOOR_DATABASE_URL'), max: 10 }) : null;
/** The queue's connection and prefix, for the api and worker roles. */
const queueOptions = () => ({
  connection: new IORedis(env('FLOOR_REDIS_URL'), { maxRetriesPerRequest: null }),
  prefix: env('FLOOR_PREFIX'),
});
const JOB_OPTIONS = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } };

type Row = { id: string; handler: string; payload: string };
const INSERT_MANY =
  'INSERT INTO floor_tasks (id, handler, payload) SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])';
const SUCCEED = `UPDATE floor_tasks SET status = 'succeeded', finished_at = now() WHERE id = ANY($1::uuid[])`;
const insertRows = (rows: Row[]) =>
  pool!.query(INSERT_MANY, [rows.map((r) => r.id), rows.map((r) => r.handler), rows.map((r) => r.payload)]);
/** Baton's own coalescer, as its task store runs it: one statement in flight, the calls meanwhile in the next. */
const gathered = <T>(run: (items: T[]) => Promise<unknown>) => {
  const coalescer = new Coalescer<T, void>(
    async (items) => {
      await run(items);
      return items.map(() => undefined);
    },
    { maxBatch: 500, maxConcurrent: 1 },
  );
  return (item: T) => coalescer.submit(item);
};
/** The writes of each mode: none, a statement per call, or gathered. */
const WRITES = {
  '0': undefined,
  each: { insert: (r: Row) => insertRows([r]), succeed: (id: string) => pool!.query(SUCCEED, [[id]]) },
  batched: { insert: gathered(insertRows), succeed: gathered((ids: string[]) => pool!.query(SUCCEED, [ids])) },
}[mode];

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
          await WRITES?.insert(row);
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
      await WRITES?.succeed(id);
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
