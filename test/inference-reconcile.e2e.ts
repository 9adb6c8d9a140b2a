// Accepted inference work is never lost: a job committed to Postgres whose items never reached Redis (a crash
// between commit and enqueue, a flushed Redis) is enqueued by the GPU worker's reconciler and runs to the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '@baton/core';
import { InferenceQueue, itemJobId } from '@baton/inference';
import type { GpuWorkerHandle } from '@baton/gpu-worker-app';
import IORedis from 'ioredis';
import { startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';
import { image, startGpu, waitTerminal } from './support/inference';

let h: Harness;
let gpu: GpuWorkerHandle | undefined;

before(async () => {
  h = await startBaton({ RECONCILE_INTERVAL_MS: '200', RECONCILE_GRACE_MS: '0' }, { worker: false });
});
after(async () => {
  await gpu?.close();
  await h?.close();
});

/** An inference job committed to Postgres and never enqueued (the process died in between), one image per seed. */
async function storeOnly(tenantId: string, seeds: number[]) {
  const now = new Date();
  const { job } = await h.runtime.stores.inference.create({
    id: newId('inference'),
    tenantId,
    model: 'text-direction',
    version: '1',
    priority: 5,
    notify: null,
    inputs: seeds.map((i) => image(i)),
    requestId: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  return job;
}

test('a job stored but never enqueued is enqueued by the reconciler and completes', async () => {
  const { tenantId, key } = await h.tenant('member');
  const job = await storeOnly(tenantId, [1, 2, 3]);
  assert.equal(await h.runtime.producer.queue('inference').count(), 0, 'nothing in Redis');
  gpu = await startGpu(h);
  const done = await waitTerminal(h, key, job.id, 60_000);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.counts.succeeded, 3);
});

test('items admitted by fair sharing but never added (their admitter died) are freed by the audit and run', async () => {
  const fair = h.runtime.fair.inference;
  assert.ok(fair, 'inference is fair by default');
  const { tenantId, key } = await h.tenant('member');
  const job = await storeOnly(tenantId, [0, 1, 2, 3, 4]);
  // Items 0-3 were admitted a minute ago by a process that died before adding them to the queue: they hold slots,
  // and are in neither a lane nor BullMQ. Item 4 is still waiting in the tenant's lane, so the job looks alive.
  const base = `${h.prefix}:fair:inference`;
  const redis = new IORedis(TEST_REDIS_URL);
  for (const index of [0, 1, 2, 3]) {
    await redis.hset(`${base}:owner`, itemJobId(job.id, index), tenantId);
    await redis.zadd(`${base}:inflight:${tenantId}`, Date.now() - 60_000, itemJobId(job.id, index));
  }
  redis.disconnect();
  await new InferenceQueue(h.runtime.producer, { attempts: 3, backoffMs: 500 }, fair).enqueue(job, [4]);
  gpu ??= await startGpu(h);
  const done = await waitTerminal(h, key, job.id, 60_000);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.counts.succeeded, 5);
  // The GPU worker frees a finished item's slot just after the item ends (in its next dispatch cycle).
  const ids = [0, 1, 2, 3, 4].map((i) => itemJobId(job.id, i));
  await waitFor(async () => (await fair.holds(ids)).every((held) => !held), 10_000, 'every slot to be freed');
});
