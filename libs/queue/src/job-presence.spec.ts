import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { jobPresence } from './job-presence';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `spec_presence_${randomBytes(4).toString('hex')}`;
let redis: Redis;
let queue: Queue;

before(() => {
  redis = new IORedis(url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  queue = new Queue('jobs', { connection: redis, prefix });
});
after(async () => {
  await queue.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test('jobPresence tells missing (or ghost), failed and present jobs apart, for many ids in one round trip', async () => {
  assert.deepEqual(await jobPresence(redis, queue, []), []);
  await queue.add('work', {}, { jobId: 'waiting' });
  await queue.add('work', {}, { jobId: 'later', delay: 60_000 });
  await queue.add('work', {}, { jobId: 'doomed' });
  await queue.add('work', {}, { jobId: 'done' });
  // A worker that fails one job for good and completes the other (kept, as removeOnComplete is off).
  const connection = new IORedis(url, { maxRetriesPerRequest: null });
  const settled = new Set<string>();
  const worker = new Worker(
    'jobs',
    (job) => (job.id === 'doomed' ? Promise.reject(new UnrecoverableError('no')) : Promise.resolve('ok')),
    { connection, prefix, autorun: false },
  );
  worker.on('completed', (job) => settled.add(job.id!));
  worker.on('failed', (job) => settled.add(job!.id!));
  await queue.remove('waiting'); // gone again: missing
  await queue.add('work', {}, { jobId: 'waiting2', priority: 3 });
  void worker.run();
  while (!(settled.has('doomed') && settled.has('done') && settled.has('waiting2'))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await worker.close();
  connection.disconnect();
  // A ghost: what a script leaves when it writes a field of a job deleted under it (a hash without a name).
  await redis.hset(queue.toKey('ghost'), 'progress', '5');
  const ids = ['waiting', 'later', 'doomed', 'done', 'waiting2', 'never-added', 'ghost'];
  assert.deepEqual(await jobPresence(redis, queue, ids), [
    'missing',
    'present',
    'failed',
    'present',
    'present',
    'missing',
    'missing',
  ]);
  // The same answers as BullMQ's own state, where that is one of the three.
  const states = await Promise.all(ids.slice(0, 6).map((id) => queue.getJobState(id)));
  assert.deepEqual(states, ['unknown', 'delayed', 'failed', 'completed', 'completed', 'unknown']);
});
