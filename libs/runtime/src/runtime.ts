import { Client } from 'pg';
import { parseClusterNodes, type Config } from '@baton/config';
import type { QueueName } from '@baton/contracts';
import {
  AccessStore,
  AlertStore,
  DeadLetterStore,
  HeartbeatStore,
  PrismaScheduleStore,
  OpsStore,
  createDatabase,
  IdempotencyStore,
  JobHistoryStore,
  migrateDeploy,
  PgBatchStore,
  PrismaNotificationStore,
  PgInferenceStore,
  PrismaTaskStore,
  type PrismaClient,
} from '@baton/db';
import { createLogger, stopTracing, type Logger } from '@baton/observability';
import { createRedis, JobProducer, whenRedisReady, type RedisClient, type RedisTarget } from '@baton/queue';
import { BatchQueue, BatchService } from '@baton/batches';
import { describeFairQueue, FairQueue, type FairQueueName, type FairQueueStats } from '@baton/fairness';
import { InferenceQueue, InferenceService, InferenceSummaries, ModelRegistry } from '@baton/inference';
import {
  batchBodyProblems,
  BatchTarget,
  InferenceTarget,
  inferenceBodyProblems,
  ScheduleQueue,
  TargetRegistry,
  TaskTarget,
  type ScheduleTarget,
} from '@baton/schedules';
import { builtInHandlers, TaskQueue, TaskService, type HandlerRegistry } from '@baton/tasks';
import { loadOrCreateAdminKey } from './admin-key';
import { ensurePostgres, ensureRedis } from './infra';

/** Everything a Baton process shares: settings, stores, connections. Built once, closed once. */
export interface Runtime {
  config: Config;
  log: Logger;
  prisma: PrismaClient;
  /** Fail-fast connection for the request path (rate limits, backpressure, status reads). */
  redis: RedisClient;
  producer: JobProducer;
  /** The one Redis server's URL; on a Redis Cluster, not used (see redisTarget). */
  redisUrl: string;
  /** Where new connections go: one server, or a Redis Cluster (REDIS_CLUSTER_NODES). */
  redisTarget: RedisTarget;
  databaseUrl: string;
  adminApiKey: string;
  stores: {
    access: AccessStore;
    idempotency: IdempotencyStore;
    tasks: PrismaTaskStore;
    batches: PgBatchStore;
    deadLetters: DeadLetterStore;
    ops: OpsStore;
    notifications: PrismaNotificationStore;
    schedules: PrismaScheduleStore;
    alerts: AlertStore;
    heartbeats: HeartbeatStore;
    inference: PgInferenceStore;
    jobHistory: JobHistoryStore;
  };
  taskQueue: TaskQueue;
  batchQueue: BatchQueue;
  /** Fair dispatchers of the queues FAIR_QUEUES names (tasks, cluster); a queue left out has none. */
  fair: FairQueues;
  /** The task use cases, shared by the API and by schedules whose target is a task. */
  tasks: TaskService;
  /** The inference use cases, shared by the API and by schedules whose target is an inference job. */
  inference: InferenceService;
  handlers: HandlerRegistry;
  scheduleQueue: ScheduleQueue;
  /** What a schedule run can start, by target type (see scheduleTargetsOf). */
  scheduleTargets: ScheduleTarget[];
  /** Channel on which cancellations of running tasks are published to every worker. */
  cancelChannel: string;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  name: string;
  /** Apply pending migrations (the API and the all-in-one process do; workers wait for them). */
  migrate: boolean;
  logger?: Logger;
}

/** How long a boot waits for a Redis Cluster's request-path connections before going on without them. */
const CLUSTER_READY_CAP_MS = 10_000;

export async function createRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.logger ?? createLogger({ level: config.LOG_LEVEL, name: opts.name });
  const infoLine = (msg: string, extra?: object): void => log.warn(extra ?? {}, msg);
  const clusterNodes = parseClusterNodes(config.REDIS_CLUSTER_NODES);
  // A Redis Cluster is always the operator's own: no private redis-server fallback for it.
  const redisInfra =
    clusterNodes.length > 0
      ? { url: config.REDIS_URL, embedded: false, stop: () => Promise.resolve() }
      : await ensureRedis({ url: config.REDIS_URL, dataDir: config.DATA_DIR, log: infoLine });
  const redisTarget: RedisTarget = { url: redisInfra.url, clusterNodes };
  const pgInfra = await ensurePostgres({
    url: config.DATABASE_URL,
    urlExplicit: config.DATABASE_URL_EXPLICIT,
    dataDir: config.DATA_DIR,
    log: infoLine,
  });
  if (opts.migrate) {
    const { applied } = await migrateDeploy({
      databaseUrl: pgInfra.url,
      maxConnections: pgInfra.maxConnections,
      log: (msg: string) => log.info(msg),
    });
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  }
  // PGlite takes one connection at a time and notices a closed one a moment late: wait until it takes ours.
  if (pgInfra.maxConnections === 1) await waitUntilConnectable(pgInfra.url);
  const poolSize = pgInfra.maxConnections ?? config.DATABASE_POOL_SIZE;
  const database = createDatabase({ url: pgInfra.url, poolSize });
  const { prisma } = database;
  const redis = createRedis(redisTarget, { blocking: false, name: `${opts.name}:edge` });
  redis.on('error', () => undefined); // surfaced by /readyz and 503s, not as crashes
  const producerConnection = createRedis(redisTarget, { blocking: false, name: `${opts.name}:producer` });
  producerConnection.on('error', () => undefined);
  // BullMQ builds its queues on these connections and asks each for INFO at once; see whenRedisReady for why a
  // cluster needs the wait. A lone server's connections are already waited for by BullMQ itself.
  if (clusterNodes.length > 0) {
    await Promise.all([
      whenRedisReady(redis, CLUSTER_READY_CAP_MS),
      whenRedisReady(producerConnection, CLUSTER_READY_CAP_MS),
    ]);
  }
  const producer = new JobProducer(producerConnection, config.QUEUE_PREFIX);
  const access = new AccessStore(prisma);
  await access.ensureSystemTenant();
  const taskStore = new PrismaTaskStore(prisma, database.pool, database.hot);
  const scheduleStore = new PrismaScheduleStore(prisma, database.pool);
  // The fair scripts run on the edge connection, not on BullMQ's: ioredis copies every script defined on a connection
  // into each pipeline it makes (one per tick with auto-pipelining), and BullMQ defines some seventy. On the edge
  // connection a dispatch cycle's pipeline copies six.
  const fair = createFairQueues(config, redis, producer, log);
  const taskQueue = new TaskQueue(producer, fair.tasks);
  const handlers = builtInHandlers({
    maxTimeoutMs: config.TASK_HTTP_MAX_TIMEOUT_MS,
    allowPrivateNetworks: config.TASK_HTTP_ALLOW_PRIVATE_NETWORKS,
  });
  const cancelChannel = `${config.QUEUE_PREFIX}:task-cancel`;
  const taskDefaults = { maxAttempts: config.TASK_DEFAULT_MAX_ATTEMPTS };
  const tasks = new TaskService(
    taskStore,
    taskQueue,
    { publish: async (id) => void (await redis.publish(cancelChannel, id)) },
    handlers,
    taskDefaults,
    log,
  );
  const inferenceStore = new PgInferenceStore(database.pool);
  // A bad models file stops the process at boot.
  const models = new ModelRegistry(config.INFERENCE_MODELS_FILE);
  const inference = new InferenceService(
    inferenceStore,
    new InferenceQueue(producer, { attempts: config.INFERENCE_MAX_ATTEMPTS, backoffMs: 500 }, fair.inference),
    new InferenceSummaries(redis, config.QUEUE_PREFIX),
    models,
    { resultTtlMs: config.RESULT_TTL },
    log,
  );
  const batchStore = new PgBatchStore(database.pool);
  const batchQueue = new BatchQueue(producer, redis, fair.cluster);
  const batches = new BatchService(batchStore, batchQueue, log);
  const scheduleQueue = new ScheduleQueue(producerConnection, config.QUEUE_PREFIX, config.SCHEDULE_FIRE_AHEAD_MS);

  return {
    config,
    log,
    prisma,
    redis,
    producer,
    redisUrl: redisInfra.url,
    redisTarget,
    databaseUrl: pgInfra.url,
    adminApiKey: config.ADMIN_API_KEY || loadOrCreateAdminKey(config.DATA_DIR, log),
    stores: {
      access,
      idempotency: new IdempotencyStore(prisma),
      tasks: taskStore,
      batches: batchStore,
      deadLetters: new DeadLetterStore(prisma),
      ops: new OpsStore(prisma),
      notifications: new PrismaNotificationStore(prisma, database.pool),
      schedules: scheduleStore,
      alerts: new AlertStore(prisma),
      heartbeats: new HeartbeatStore(prisma),
      inference: inferenceStore,
      jobHistory: new JobHistoryStore(database.pool),
    },
    taskQueue,
    batchQueue,
    fair,
    tasks,
    inference,
    handlers,
    scheduleQueue,
    scheduleTargets: [
      new TaskTarget(tasks, { handlers, defaults: taskDefaults }, (ids) => scheduleStore.taskStates(ids)),
      new BatchTarget(batches, batchStore),
      new InferenceTarget(inference, models, (ids) => inferenceStore.findMany(ids)),
    ],
    cancelChannel,
    async close() {
      await Promise.all(Object.values(fair).map((f) => f.stop()));
      await scheduleQueue.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
      redis.disconnect();
      producerConnection.disconnect();
      await database.close();
      await pgInfra.stop();
      await redisInfra.stop();
      await stopTracing().catch(() => undefined);
    },
  };
}

export type FairQueues = Partial<Record<FairQueueName, FairQueue>>;

/** One queue's state for operators, with its tenants' shares where the queue is fair-shared. */
export function describeQueueOf(
  runtime: Pick<Runtime, 'producer' | 'fair'>,
  name: QueueName,
  now = Date.now(),
): Promise<FairQueueStats> {
  return describeFairQueue(runtime.producer.queue(name), runtime.fair[name as FairQueueName], now);
}

/**
 * The tasks queue's window: four times its live workers' concurrency. Tasks are often short (a no-op runs in well under
 * a millisecond), and a job ends faster than its slot comes back through a dispatch cycle: with twice the concurrency,
 * workers waited for admissions, and a backlog of no-op tasks drained at 3,400-3,750 tasks/s here; with four times,
 * 4,500-5,300/s, at 30% less worker CPU per task (bigger admissions, fewer cycles). A newcomer waits behind at most
 * three rounds of the workers' slots.
 */
const TASKS_WINDOW_FACTOR = 4;

/** The tasks queue's window follows its live workers' concurrency; the cluster's is the cluster's own capacity. */
function createFairQueues(config: Config, connection: RedisClient, producer: JobProducer, log: Logger): FairQueues {
  const defaults = {
    weight: config.FAIR_DEFAULT_WEIGHT,
    maxInFlight: config.FAIR_DEFAULT_MAX_IN_FLIGHT,
    ratePerSecond: config.FAIR_DEFAULT_RATE,
  };
  const make = (name: FairQueueName, window: number | 'workers', windowFactor?: number) =>
    new FairQueue(
      connection,
      producer.queue(name),
      config.QUEUE_PREFIX,
      name,
      {
        window,
        windowFactor,
        defaults,
        agingMs: config.FAIR_AGING_MS,
      },
      log,
    );
  const fair: FairQueues = {};
  if (config.FAIR_QUEUES.includes('tasks')) fair.tasks = make('tasks', 'workers', TASKS_WINDOW_FACTOR);
  if (config.FAIR_QUEUES.includes('cluster')) fair.cluster = make('cluster', config.CLUSTER_MAX_IN_FLIGHT);
  if (config.FAIR_QUEUES.includes('inference')) fair.inference = make('inference', 'workers');
  return fair;
}

async function waitUntilConnectable(url: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const client = new Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * The registry of schedule targets: every registered target, and the shape checks (API.md) of the known types, so a
 * body for a type this build cannot run yet is still checked at create. `shapeChecks` adds or replaces checks (the
 * API adds its DTO check for tasks).
 */
export function scheduleTargetsOf(
  runtime: Pick<Runtime, 'scheduleTargets'>,
  shapeChecks: ConstructorParameters<typeof TargetRegistry>[1] = {},
): TargetRegistry {
  return new TargetRegistry(runtime.scheduleTargets, {
    batch: batchBodyProblems,
    inference: inferenceBodyProblems,
    ...shapeChecks,
  });
}
