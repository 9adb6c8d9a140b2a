// The largest submission API.md allows: 10,000 inputs in one request, through the real model, to the end.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { GpuWorkerHandle } from '@baton/gpu-worker-app';
import { startBaton, type Harness } from './support/harness';
import { allResults, corruptPng, image, startGpu, waitTerminal } from './support/inference';

const N = 10_000;
let h: Harness;
let gpu: GpuWorkerHandle;

before(async () => {
  h = await startBaton({ INFERENCE_MAX_BATCH_SIZE: '32', INFERENCE_CONCURRENCY: '128' }, { worker: false });
  gpu = await startGpu(h);
});
after(async () => {
  await gpu?.close();
  await h?.close();
});

test(`${N} inputs in one submission: every item accounted for, in index order, one completion event`, async (t) => {
  const { key } = await h.tenant('member');
  const bad = new Set([17, 4_242, 9_999]);
  const inputs = Array.from({ length: N }, (_, i) => (bad.has(i) ? corruptPng() : image(i % 11, 48, 16)));
  const started = Date.now();
  const r = await h.request('POST', '/v1/inference/jobs', { key, body: { model: 'text-direction', inputs } });
  assert.equal(r.status, 202);
  const accepted = Date.now() - started;
  assert.equal(r.body.counts.total, N);
  const done = await waitTerminal(h, key, r.body.id, 280_000);
  t.diagnostic(`accepted in ${accepted} ms; done in ${Date.now() - started} ms`);
  assert.equal(done.status, 'failed');
  assert.equal(done.outcome, 'partial');
  assert.deepEqual(done.counts, { total: N, queued: 0, running: 0, succeeded: N - 3, failed: 3, cancelled: 0 });
  const failed = await allResults(h, key, r.body.id, 'failed');
  assert.deepEqual(
    failed.map((f) => f.index),
    [...bad],
  );
  const res = await fetch(`${h.url}/v1/inference/jobs/${r.body.id}/results.jsonl`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const lines = (await res.text()).trim().split('\n');
  assert.equal(lines.length, N);
  assert.ok(lines.every((l, i) => (JSON.parse(l) as { index: number }).index === i));
  assert.equal(await h.runtime.prisma.notificationEvent.count({ where: { subjectId: r.body.id } }), 1);
});
