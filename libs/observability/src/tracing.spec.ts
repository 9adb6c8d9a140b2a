import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from './logger';
import { bullmqTelemetry, startTracing, tracer, tracingEnabled } from './tracing';

describe('tracing', () => {
  test('off until started; log lines carry the active trace and span ids, and none outside a span', () => {
    assert.equal(tracingEnabled(), false);
    assert.equal(bullmqTelemetry(), undefined);
    const exporter = new InMemorySpanExporter();
    startTracing({ serviceName: 'spec', exporter });
    assert.ok(tracingEnabled());
    assert.ok(bullmqTelemetry());
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = createLogger({ level: 'info', name: 'spec' }, sink);
    let ids: { traceId: string; spanId: string } | undefined;
    tracer().startActiveSpan('work', (span) => {
      ids = span.spanContext();
      log.info('inside');
      span.end();
    });
    log.info('outside');
    assert.equal(lines[0].traceId, ids!.traceId);
    assert.equal(lines[0].spanId, ids!.spanId);
    assert.equal(lines[1].traceId, undefined);
    assert.deepEqual(
      exporter.getFinishedSpans().map((s) => s.name),
      ['work'],
    );
  });
});
