import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry a process; /metrics serialises it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'baton_' });

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** For waits that retries stretch to minutes or hours (deliveries, catch-up fires). */
const LONG_BUCKETS = [...LATENCY_BUCKETS, 300, 900, 3600, 4 * 3600];

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
  stalled: new Counter({
    name: 'baton_job_stalled_total',
    help: 'Lease loss: jobs whose worker stopped renewing their lock (crash, blocked event loop) and that BullMQ took back',
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
  schedulerLag: new Histogram({
    name: 'baton_schedule_lag_seconds',
    help: "Scheduler lag: from a run's scheduled instant to it being fired, by target type",
    labelNames: ['target'] as const,
    buckets: LONG_BUCKETS,
    registers: [registry],
  }),
  notificationDeliveries: new Counter({
    name: 'baton_notification_deliveries_total',
    help: 'Notification delivery attempts by channel and outcome (delivered, retried, dead, cancelled)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [registry],
  }),
  notificationLatency: new Histogram({
    name: 'baton_notification_delivery_seconds',
    help: 'From the event to its successful delivery (retries included), by channel',
    labelNames: ['channel'] as const,
    buckets: LONG_BUCKETS,
    registers: [registry],
  }),
  clusterCalls: new Counter({
    name: 'baton_cluster_calls_total',
    help: 'Calls to the external cluster by call (submit, status, cancel) and result (ok, rate_limited, rejected, transient)',
    labelNames: ['call', 'result'] as const,
    registers: [registry],
  }),
  clusterCallDuration: new Histogram({
    name: 'baton_cluster_call_seconds',
    help: 'Latency of calls to the external cluster, by call',
    labelNames: ['call'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  batchItems: new Counter({
    name: 'baton_batch_items_total',
    help: 'Batch items that ended, by status (succeeded, failed, cancelled)',
    labelNames: ['status'] as const,
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
  tenantWaiting: new Gauge({
    name: 'baton_tenant_waiting_jobs',
    help: 'Jobs waiting for admission per fair-shared queue and tenant',
    labelNames: ['queue', 'tenant'] as const,
    registers: [registry],
  }),
  tenantInFlight: new Gauge({
    name: 'baton_tenant_in_flight_jobs',
    help: 'Jobs admitted and unfinished per fair-shared queue and tenant',
    labelNames: ['queue', 'tenant'] as const,
    registers: [registry],
  }),
  tenantThroughput: new Gauge({
    name: 'baton_tenant_finished_per_second',
    help: 'Jobs finished per second over the last full minute, per fair-shared queue and tenant',
    labelNames: ['queue', 'tenant'] as const,
    registers: [registry],
  }),
  rejected: new Counter({
    name: 'baton_http_rejected_total',
    help: 'Requests refused at the edge, by reason (rate_limited, overloaded)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  inferenceBatchSize: new Histogram({
    name: 'baton_inference_batch_size',
    help: 'Items per session call (micro-batch), by model',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  }),
  inferenceQueueWait: new Histogram({
    name: 'baton_inference_queue_wait_seconds',
    help: 'Time from an item being enqueued to a GPU worker claiming it, by model',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  inferenceLatency: new Histogram({
    name: 'baton_inference_batch_seconds',
    help: 'Session call latency per micro-batch, by model',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  }),
  inferenceItems: new Counter({
    name: 'baton_inference_items_total',
    help: 'Inference items finished, by model and status (rate() gives items/s)',
    labelNames: ['model', 'status'] as const,
    registers: [registry],
  }),
  gpuUtilization: new Gauge({
    name: 'baton_gpu_utilization_ratio',
    help: 'GPU utilisation (0..1) sampled from nvidia-smi; absent when inference runs on CPU',
    labelNames: ['gpu'] as const,
    registers: [registry],
  }),
};
