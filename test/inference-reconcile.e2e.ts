// Accepted inference work is never lost: a job committed to Postgres whose items never reached Redis (a crash
// between commit and enqueue, a flushed Redis) is enqueued by the GPU worker's reconciler and runs to the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newId } from '@baton/core';
import type { GpuWorkerHandle } from '@baton/gpu-worker-app';
import { startBaton, type Harness } from './support/harness';
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

test('a job stored but never enqueued is enqueued by the reconciler and completes', async () => {
  const { tenantId, key } = await h.tenant('member');
  const now = new Date();
  const { job } = await h.runtime.stores.inference.create({
    id: newId('inference'),
    tenantId,
    model: 'text-direction',
    version: '1',
    priority: 5,
    notify: null,
    inputs: [image(1), image(2), image(3)],
    requestId: null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3600_000),
  });
  assert.equal(await h.runtime.producer.queue('inference').count(), 0, 'nothing in Redis');
  gpu = await startGpu(h);
  const done = await waitTerminal(h, key, job.id, 60_000);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.counts.succeeded, 3);
});
