// Crash safety of inference (issue 6, item 4), from outside: the API in this process, the GPU worker as a real process
// (`node dist/apps/gpu-worker/src/main.js`) whose Redis goes through a TCP proxy. Cutting the proxy leaves the worker
// able to infer and write results to Postgres but not to acknowledge them to BullMQ: exactly the window "after
// inference, before acknowledgement". The worker is then killed with SIGKILL and a new one started: the items whose
// acknowledgement was lost run again, and every result must still be there once, with one completion event.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { QUEUES } from '@baton/contracts';
import { itemJobId } from '@baton/inference';
import { startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';
import { image, waitTerminal } from './support/inference';
import { startTcpProxy } from './support/tcp-proxy';

const GPU_MAIN = 'dist/apps/gpu-worker/src/main.js';
const ITEMS = 600;

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

function spawnGpuWorker(env: Record<string, string>): { child: ChildProcess; tail(): string } {
  const child = spawn(process.execPath, ['--enable-source-maps', GPU_MAIN], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => void (out = (out + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((r) => child.once('exit', r));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  });
  return { child, tail: () => out };
}

describe('an inference job survives its GPU worker being killed between writing results and acknowledging them', () => {
  test(`${ITEMS} items: every result written exactly once, counts add up, one completion event`, async (t) => {
    const h: Harness = await startBaton({}, { worker: false });
    cleanups.push(() => h.close());
    const { key } = await h.tenant('member');
    const redisUrl = new URL(TEST_REDIS_URL);
    const proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
    cleanups.push(() => proxy.close());
    const env = {
      DATABASE_URL: h.databaseUrl,
      QUEUE_PREFIX: h.prefix,
      INFERENCE_MODELS_FILE: resolve('models.json'),
      INFERENCE_LOCK_MS: '2000',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'baton-gpu-')),
    };
    const first = spawnGpuWorker({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });

    const r = await h.request('POST', '/v1/inference/jobs', {
      key,
      body: { model: 'text-direction', inputs: Array.from({ length: ITEMS }, (_, i) => image(i % 9, 60, 20)) },
    });
    assert.equal(r.status, 202);
    const id: string = r.body.id;
    const succeeded = async () => h.runtime.prisma.inferenceItem.count({ where: { jobId: id, status: 'succeeded' } });
    await waitFor(async () => (await succeeded()) >= 100, 120_000, `100 items done (worker: ${first.tail()})`);

    // Redis away for the worker: what it holds is inferred and written to Postgres, but never acknowledged.
    proxy.cut();
    const atCut = await succeeded();
    let last = -1;
    await waitFor(
      async () => {
        const now = await succeeded();
        const settled = now === last;
        last = now;
        return settled;
      },
      30_000,
      'the worker to finish what it held',
    );
    await new Promise((res) => setTimeout(res, 1000));
    const writtenUnacked = (await succeeded()) - atCut;
    first.child.kill('SIGKILL');
    await new Promise((res) => first.child.once('exit', res));
    assert.ok(writtenUnacked > 0, 'some results were written and never acknowledged');
    const queue = h.runtime.producer.queue(QUEUES.inference);
    assert.ok((await queue.getActiveCount()) > 0, 'the killed worker left active (unacknowledged) jobs');

    const second = spawnGpuWorker({ ...env, REDIS_URL: TEST_REDIS_URL });
    const done = await waitTerminal(h, key, id, 180_000).catch((e: Error) => {
      throw new Error(`${e.message}; worker: ${second.tail()}`);
    });
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.counts, { total: ITEMS, queued: 0, running: 0, succeeded: ITEMS, failed: 0, cancelled: 0 });
    const items = await h.runtime.prisma.inferenceItem.findMany({ where: { jobId: id }, orderBy: { index: 'asc' } });
    assert.equal(items.length, ITEMS);
    assert.ok(items.every((i, n) => i.index === n && i.status === 'succeeded' && (i.output as any).label));
    // attempts counts result writes that changed the item: one each, whatever ran twice.
    assert.deepEqual([...new Set(items.map((i) => i.attempts))], [1]);
    const row = await h.runtime.prisma.inferenceJob.findUniqueOrThrow({ where: { id } });
    assert.equal(row.succeeded, ITEMS);
    const events = await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: id } });
    assert.equal(events.length, 1);
    // The acknowledgements lost with the first worker came back as stalled jobs and ran a second time.
    // The job can end before the stall check has run (the killed worker's items were already written): wait for it,
    // a few lock periods at most.
    const repeated = await waitFor(
      async () => {
        const jobs = await Promise.all(items.map((i) => queue.getJob(itemJobId(id, i.index))));
        const n = jobs.filter((j) => j && (j.attemptsStarted ?? 0) + (j.stalledCounter ?? 0) >= 2).length;
        return n > 0 ? n : undefined;
      },
      30_000,
      "the killed worker's unacknowledged items to be delivered again",
    );
    assert.ok(repeated > 0, 'some items were delivered again after the kill');
    // ...and running them again changed nothing: still one write per item, still one event.
    const after = await h.runtime.prisma.inferenceItem.findMany({ where: { jobId: id } });
    assert.deepEqual([...new Set(after.map((i) => i.attempts))], [1]);
    assert.equal((await h.runtime.prisma.notificationEvent.findMany({ where: { subjectId: id } })).length, 1);
    t.diagnostic(`written but unacknowledged at the kill: ${writtenUnacked}; items delivered twice: ${repeated}`);
  });
});
