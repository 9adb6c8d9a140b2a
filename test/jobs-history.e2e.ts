import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'pg';
import { startBaton, waitFor, type Harness } from './support/harness';

let h: Harness;
let a: { tenantId: string; key: string };
let b: { tenantId: string; key: string };

// No worker: everything stays queued in Postgres, which is all execution history needs.
before(async () => {
  h = await startBaton({}, { worker: false });
  a = await h.tenant('member');
  b = await h.tenant('member');
});
after(() => h.close());

const admin = (path: string) => h.request('GET', path, { key: h.adminKey });

async function pages(query: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = '';
  for (let i = 0; cursor !== null && i < 50; i++) {
    const r = await admin(`/v1/jobs?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids.push(...r.body.data.map((j: { id: string }) => j.id));
    cursor = r.body.nextCursor;
  }
  return ids;
}

describe('execution history of every kind', () => {
  const created: string[] = [];

  test('batch jobs are listed with tasks, newest first, filtered by kind, tenant and status', async () => {
    const t1 = await h.request('POST', '/v1/tasks', { key: a.key, body: { handler: 'noop' } });
    created.push(t1.body.id);
    const batchA = await h.request('POST', '/v1/batches', {
      key: a.key,
      body: { name: 'nightly', items: [{ n: 1 }, { n: 2 }, { n: 3 }] },
    });
    assert.equal(batchA.status, 202);
    const t2 = await h.request('POST', '/v1/tasks', { key: b.key, body: { handler: 'noop' } });
    created.push(t2.body.id);
    const batchB = await h.request('POST', '/v1/batches', { key: b.key, body: { items: [{ n: 4 }, { n: 5 }] } });
    assert.equal(batchB.status, 202);

    const onlyBatchJobs = await admin('/v1/jobs?kind=batch_job');
    assert.equal(onlyBatchJobs.status, 200);
    assert.equal(onlyBatchJobs.body.data.length, 5);
    // Ids of one batch's jobs share a millisecond, so within a batch the order is arbitrary; batches are ordered.
    const first = onlyBatchJobs.body.data.find((j: any) => j.batchId === batchA.body.id && j.index === 0);
    assert.ok(
      onlyBatchJobs.body.data.slice(2).every((j: any) => j.batchId === batchA.body.id),
      'older batch last',
    );
    assert.deepEqual(
      {
        kind: first.kind,
        tenantId: first.tenantId,
        name: first.name,
        batchId: first.batchId,
        index: first.index,
        status: first.status,
      },
      { kind: 'batch_job', tenantId: a.tenantId, name: 'nightly', batchId: batchA.body.id, index: 0, status: 'queued' },
    );
    assert.match(first.id, /^job_/);
    assert.equal(onlyBatchJobs.body.data[0].name, batchB.body.id, 'a batch without a name shows its id');

    const ofB = await admin(`/v1/jobs?kind=batch_job&tenant=${b.tenantId}`);
    assert.deepEqual(ofB.body.data.map((j: any) => j.index).sort(), [0, 1]);
    assert.ok(ofB.body.data.every((j: any) => j.batchId === batchB.body.id));
    assert.equal((await admin('/v1/jobs?kind=batch_job&status=queued')).body.data.length, 5);
    assert.equal((await admin('/v1/jobs?kind=batch_job&status=running')).body.data.length, 0);
    assert.equal((await admin('/v1/jobs?kind=task')).body.data.length, 2);

    const all = (await admin('/v1/jobs')).body.data;
    assert.equal(all.length, 7);
    const times = all.map((j: any) => j.id.slice(4));
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first across kinds');
    assert.deepEqual(new Set(all.map((j: any) => j.kind)), new Set(['task', 'batch_job']));
    const ofA = (await admin(`/v1/jobs?tenant=${a.tenantId}`)).body.data;
    assert.deepEqual(ofA.map((j: any) => j.kind).sort(), ['batch_job', 'batch_job', 'batch_job', 'task']);
  });

  test('pages across kinds add up to the whole list, with no repeats', async () => {
    const whole = (await admin('/v1/jobs?limit=1000')).body.data.map((j: { id: string }) => j.id);
    for (const limit of [1, 2, 3]) assert.deepEqual(await pages('', limit), whole, `limit ${limit}`);
    assert.deepEqual(
      await pages(`tenant=${a.tenantId}`, 2),
      (await admin(`/v1/jobs?tenant=${a.tenantId}`)).body.data.map((j: any) => j.id),
    );
  });

  test('bad filters and cursors are 400s', async () => {
    const badCursor = Buffer.from('not-an-id').toString('base64url');
    for (const bad of ['kind=spaceship', `cursor=${badCursor}`, 'cursor=%25%25', 'status=bogus', 'tenant=acme']) {
      const r = await admin(`/v1/jobs?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.error.code, 'validation_failed', bad);
    }
    const member = await h.request('GET', '/v1/jobs?kind=batch_job', { key: a.key });
    assert.equal(member.status, 403);
  });

  test('finished batches past HISTORY_RETENTION_DAYS are purged with their jobs; the rest stay', async () => {
    const old = await h.request('POST', '/v1/batches', { key: a.key, body: { items: [{ n: 1 }, { n: 2 }] } });
    const open = await h.request('POST', '/v1/batches', { key: a.key, body: { items: [{ n: 3 }] } });
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    for (const id of [old.body.id, open.body.id]) {
      await h.runtime.prisma.batch.update({ where: { id }, data: { createdAt: longAgo } });
    }
    await h.runtime.prisma.batch.update({
      where: { id: old.body.id },
      data: { status: 'succeeded', outcome: 'all_succeeded', finishedAt: longAgo },
    });
    await h.startWorker();
    try {
      await h.runtime.producer.add('maintenance.purge', {}, { jobId: `purge-${Date.now()}` });
      await waitFor(
        async () => (await h.runtime.prisma.batch.count({ where: { id: old.body.id } })) === 0,
        10_000,
        'the purge',
      );
    } finally {
      await h.stopWorker();
    }
    assert.equal(
      await h.runtime.prisma.batchJob.count({ where: { batchId: old.body.id } }),
      0,
      'its jobs went with it',
    );
    assert.equal(
      await h.runtime.prisma.batch.count({ where: { id: open.body.id } }),
      1,
      'an open batch stays, however old',
    );
    const listed = (await admin(`/v1/jobs?kind=batch_job&tenant=${a.tenantId}`)).body.data;
    assert.ok(listed.every((j: any) => j.batchId !== old.body.id));
  });

  test('each batch-job history query walks an index, with no sort', async () => {
    const db = new Client({ connectionString: h.databaseUrl });
    await db.connect();
    try {
      // Tiny tables make a sequential scan cheapest; this asks whether an index serves the query shape at all.
      await db.query('SET enable_seqscan = off');
      const plan = async (where: string, args: unknown[]) => {
        const rows = await db.query(
          `EXPLAIN SELECT j.id FROM batch_jobs j JOIN batches b ON b.id = j.batch_id ${where} ORDER BY j.id DESC LIMIT 101`,
          args,
        );
        return rows.rows.map((r) => r['QUERY PLAN'] as string).join('\n');
      };
      const cases: [string, unknown[], RegExp][] = [
        ['WHERE j.status = $1::"WorkStatus"', ['running'], /batch_jobs_status_id_idx/],
        ['WHERE j.tenant_id = $1', [a.tenantId], /batch_jobs_tenant_id_id_idx/],
        ['WHERE j.status = $1::"WorkStatus" AND j.id < $2', ['queued', 'job_zzzz'], /batch_jobs_status_id_idx/],
        ['', [], /batch_jobs_pkey/],
      ];
      for (const [where, args, index] of cases) {
        const text = await plan(where, args);
        assert.match(text, index, text);
        assert.doesNotMatch(text, /Sort|Seq Scan on batch_jobs/, text);
      }
    } finally {
      await db.end();
    }
  });
});

describe('inference jobs in the execution history', () => {
  test('listed with the other kinds, filtered by kind, tenant and status, each query on an index', async () => {
    const { image } = await import('./support/inference');
    const r = await h.request('POST', '/v1/inference/jobs', {
      key: b.key,
      body: { model: 'text-direction', inputs: [image(1), image(2)] },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const only = await admin('/v1/jobs?kind=inference_job');
    assert.equal(only.status, 200);
    const listed = only.body.data.find((j: any) => j.id === r.body.id);
    assert.ok(listed, JSON.stringify(only.body));
    assert.equal(listed.kind, 'inference_job');
    assert.equal(listed.tenantId, b.tenantId);
    assert.match(listed.name, /^text-direction@1 \(2 items\)$/);
    assert.ok(
      (await admin('/v1/jobs')).body.data.some((j: any) => j.id === r.body.id),
      'in the list of every kind',
    );
    assert.equal((await admin(`/v1/jobs?kind=inference_job&tenant=${a.tenantId}`)).body.data.length, 0);
    assert.equal((await admin('/v1/jobs?kind=inference_job&status=succeeded')).body.data.length, 0);

    const db = new Client({ connectionString: h.databaseUrl });
    await db.connect();
    try {
      await db.query('SET enable_seqscan = off');
      for (const [where, args, index] of [
        ['WHERE status = $1::"WorkStatus"', ['queued'], /inference_jobs_status_id_idx/],
        ['WHERE tenant_id = $1', [b.tenantId], /inference_jobs_tenant_id_id_idx/],
        ['', [], /inference_jobs_pkey/],
      ] as [string, unknown[], RegExp][]) {
        const rows = await db.query(`EXPLAIN SELECT id FROM inference_jobs ${where} ORDER BY id DESC LIMIT 101`, args);
        const text = rows.rows.map((x) => x['QUERY PLAN'] as string).join('\n');
        assert.match(text, index, text);
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      }
    } finally {
      await db.end();
    }
  });
});
