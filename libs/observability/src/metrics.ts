import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry a process; /metrics serialises it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'baton_' });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const metrics = {
  httpDuration: new Histogram({
    name: 'baton_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  enqueueToStart: new Histogram({
    name: 'baton_job_enqueue_to_start_seconds',
    help: 'Time from enqueue (or its scheduled time) to a worker starting the job',
    labelNames: ['queue'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  runDuration: new Histogram({
    name: 'baton_job_run_seconds',
    help: 'Time a job ran, by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  retries: new Counter({
    name: 'baton_job_retries_total',
    help: 'Attempts that failed and were retried',
    labelNames: ['queue'] as const,
    registers: [registry],
  }),
  deadLetters: new Counter({
    name: 'baton_dead_letters_total',
    help: 'Work that failed for good and went to dead letters',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  reconciled: new Counter({
    name: 'baton_reconciler_requeued_total',
    help: 'Accepted work the reconciler found missing from Redis and enqueued again',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  queueDepth: new Gauge({
    name: 'baton_queue_jobs',
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
  }),
  queueOldestWaitingSeconds: new Gauge({
    name: 'baton_queue_oldest_waiting_seconds',
    help: 'Age of the oldest waiting job per queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  }),
  rejected: new Counter({
    name: 'baton_http_rejected_total',
    help: 'Requests refused at the edge, by reason (rate_limited, overloaded)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
};
