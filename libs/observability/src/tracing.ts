import { trace, type Tracer } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQOtel } from 'bullmq-otel';

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces; empty: the exporter's own default. */
  otlpEndpoint?: string;
  /** Tests: spans go here instead (synchronously, one by one). */
  exporter?: SpanExporter;
}

let provider: NodeTracerProvider | undefined;

/**
 * Turns tracing on for this process, once: HTTP in and out (the API's requests, the cluster and webhook calls) and,
 * through `bullmqTelemetry()`, every job added and processed, so a request's trace continues into the jobs it
 * enqueues and the calls they make. Call it before servers start. Later calls change nothing.
 */
export function startTracing(opts: TracingOptions): void {
  if (provider) return;
  const processor: SpanProcessor = opts.exporter
    ? new SimpleSpanProcessor(opts.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter(opts.otlpEndpoint ? { url: opts.otlpEndpoint } : {}));
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
    spanProcessors: [processor],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    // Health and metrics scrapes would bury the traces that matter.
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? ''),
      }),
    ],
  });
}

export const tracingEnabled = (): boolean => provider !== undefined;

/** BullMQ's telemetry hook (propagates the trace through job options), or undefined when tracing is off. */
export function bullmqTelemetry(): BullMQOtel | undefined {
  return provider ? new BullMQOtel({ tracerName: 'baton' }) : undefined;
}

export const tracer = (): Tracer => trace.getTracer('baton');

/** Sends what is buffered (at shutdown). */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
}

/** The active trace and span ids, for log lines. */
export function traceIds(): { traceId?: string; spanId?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
