import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { RunningSimulator } from '@baton/cluster';
import { startTracing } from '@baton/observability';
import type { Harness } from './support/harness';

// Tracing is process-wide: this file runs in its own process and turns it on before the app's modules load (the
// HTTP instrumentation hooks modules as they are required), as each app's main.ts does with TRACING_ENABLED.
const exporter = new InMemorySpanExporter();
startTracing({ serviceName: 'baton-test', exporter });

let waitFor: typeof import('./support/harness').waitFor;
let h: Harness;
let sim: RunningSimulator;
let key: string;

before(async () => {
  const harness = await import('./support/harness');
  const { startSimulator } = await import('@baton/cluster');
  waitFor = harness.waitFor;
  sim = await startSimulator({ queueMs: 0, runMs: 10 });
  h = await harness.startBaton({ TRACING_ENABLED: 'true', CLUSTER_URL: sim.url });
  key = (await h.tenant('member')).key;
});
after(async () => {
  await h.close();
  await sim.close();
});

const traceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};
const spansOf = (traceId: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
const names = (spans: ReadableSpan[]) => spans.map((s) => s.name);
/** The trace's finished spans, once one of them is a job being processed (the end of the chain). */
const spansUpToProcess = (traceId: string, queue: string): Promise<ReadableSpan[]> =>
  waitFor(() => {
    const found = spansOf(traceId);
    return Promise.resolve(found.some((s) => s.name.includes(`process ${queue}`)) ? found : undefined);
  }, 10_000);

describe('tracing', () => {
  test("a task's trace runs from the request into its job", async () => {
    const { traceId, header } = traceparent();
    const r = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'noop' },
      headers: { traceparent: header },
    });
    assert.equal(r.status, 202);
    await waitFor(async () => (await h.request('GET', `/v1/tasks/${r.body.id}`, { key })).body.status === 'succeeded');
    const spans = await spansUpToProcess(traceId, 'tasks');
    assert.ok(
      names(spans).some((n) => /^POST/.test(n)),
      `a server span for the request: ${names(spans).join(', ')}`,
    );
    // The task waits in its tenant's fair lane (`enqueue tasks`) and is added to BullMQ when admitted.
    assert.ok(
      names(spans).some((n) => n === 'enqueue tasks'),
      names(spans).join(', '),
    );
    assert.ok(
      names(spans).some((n) => n.includes('process tasks')),
      names(spans).join(', '),
    );
  });

  test('a task that waits in its fair lane and is admitted by another cycle keeps its trace', async () => {
    const tenant = await h.tenant('member');
    const limits = await h.request('PUT', `/v1/tenants/${tenant.tenantId}/limits`, {
      key: h.adminKey,
      body: { queues: { tasks: { maxInFlight: 1 } } },
    });
    assert.equal(limits.status, 200);
    // The tenant's one slot is taken, so the traced task is admitted later, by the cycle that the first one's end
    // runs in the worker, in a context that is not the request's.
    const first = await h.request('POST', '/v1/tasks', {
      key: tenant.key,
      body: { handler: 'sleep', payload: { ms: 300 } },
    });
    assert.equal(first.status, 202);
    const { traceId, header } = traceparent();
    const r = await h.request('POST', '/v1/tasks', {
      key: tenant.key,
      body: { handler: 'noop' },
      headers: { traceparent: header },
    });
    assert.equal(r.status, 202);
    const spans = await spansUpToProcess(traceId, 'tasks');
    assert.ok(
      names(spans).some((n) => /^POST/.test(n)),
      names(spans).join(', '),
    );
    const task = await h.request('GET', `/v1/tasks/${r.body.id}`, { key: tenant.key });
    assert.equal(task.body.status, 'succeeded');
    const firstDone = await h.request('GET', `/v1/tasks/${first.body.id}`, { key: tenant.key });
    assert.ok(
      new Date(task.body.startedAt).getTime() >= new Date(firstDone.body.finishedAt).getTime() - 5,
      'the traced task waited for the first one',
    );
  });

  test("a batch's trace runs from the request through its feeder and items into the cluster calls", async () => {
    const { traceId, header } = traceparent();
    const r = await h.request('POST', '/v1/batches', {
      key,
      body: { items: [{ a: 1 }, { a: 2 }], policy: { backoff: { baseMs: 50, maxMs: 100 } } },
      headers: { traceparent: header },
    });
    assert.equal(r.status, 202);
    await waitFor(async () => (await h.request('GET', `/v1/batches/${r.body.id}`, { key })).body.outcome, 20_000);
    const spans = await waitFor(() => {
      const found = spansOf(traceId);
      const ready =
        found.some((s) => s.name.includes('process batches')) &&
        found.filter((s) => s.name.includes('process cluster')).length >= 2;
      return Promise.resolve(ready ? found : undefined);
    }, 10_000);
    const clusterCalls = spans.filter(
      (s) =>
        /^(POST|GET)$/.test(s.name) &&
        String(s.attributes['url.full'] ?? s.attributes['http.url'] ?? '').startsWith(sim.url),
    );
    assert.ok(clusterCalls.length >= 4, `submit and status calls traced: ${names(spans).join(', ')}`);
  });
});
