import type { Redis } from 'ioredis';
import { Client } from 'pg';
import type { Config } from '@baton/config';
import {
  AccessStore,
  DeadLetterStore,
  OpsStore,
  createDatabase,
  IdempotencyStore,
  JobHistoryStore,
  migrateDeploy,
  PgBatchStore,
  PrismaTaskStore,
  type PrismaClient,
} from '@baton/db';
import { createLogger, type Logger } from '@baton/observability';
import { createRedis, JobProducer } from '@baton/queue';
import { BatchQueue } from '@baton/batches';
import { builtInHandlers, TaskQueue, type HandlerRegistry } from '@baton/tasks';
import { loadOrCreateAdminKey } from './admin-key';
import { ensurePostgres, ensureRedis } from './infra';

/** Everything a Baton process shares: settings, stores, connections. Built once, closed once. */
export interface Runtime {
  config: Config;
  log: Logger;
  prisma: PrismaClient;
  /** Fail-fast connection for the request path (rate limits, backpressure, status reads). */
  redis: Redis;
  producer: JobProducer;
  redisUrl: string;
  databaseUrl: string;
  adminApiKey: string;
  stores: {
    access: AccessStore;
    idempotency: IdempotencyStore;
    tasks: PrismaTaskStore;
    batches: PgBatchStore;
    deadLetters: DeadLetterStore;
    ops: OpsStore;
    jobHistory: JobHistoryStore;
  };
  taskQueue: TaskQueue;
  batchQueue: BatchQueue;
  handlers: HandlerRegistry;
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

export async function createRuntime(config: Config, opts: RuntimeOptions): Promise<Runtime> {
  const log = opts.logger ?? createLogger({ level: config.LOG_LEVEL, name: opts.name });
  const infoLine = (msg: string, extra?: object): void => log.warn(extra ?? {}, msg);
  const redisInfra = await ensureRedis({ url: config.REDIS_URL, dataDir: config.DATA_DIR, log: infoLine });
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
  const redis = createRedis(redisInfra.url, { blocking: false, name: `${opts.name}:edge` });
  redis.on('error', () => undefined); // surfaced by /readyz and 503s, not as crashes
  const producerConnection = createRedis(redisInfra.url, { blocking: false, name: `${opts.name}:producer` });
  producerConnection.on('error', () => undefined);
  const producer = new JobProducer(producerConnection, config.QUEUE_PREFIX);
  const access = new AccessStore(prisma);
  await access.ensureSystemTenant();

  return {
    config,
    log,
    prisma,
    redis,
    producer,
    redisUrl: redisInfra.url,
    databaseUrl: pgInfra.url,
    adminApiKey: config.ADMIN_API_KEY || loadOrCreateAdminKey(config.DATA_DIR, log),
    stores: {
      access,
      idempotency: new IdempotencyStore(prisma),
      tasks: new PrismaTaskStore(prisma, database.pool),
      batches: new PgBatchStore(database.pool),
      deadLetters: new DeadLetterStore(prisma),
      ops: new OpsStore(prisma),
      jobHistory: new JobHistoryStore(database.pool),
    },
    taskQueue: new TaskQueue(producer),
    batchQueue: new BatchQueue(producer),
    handlers: builtInHandlers({
      maxTimeoutMs: config.TASK_HTTP_MAX_TIMEOUT_MS,
      allowPrivateNetworks: config.TASK_HTTP_ALLOW_PRIVATE_NETWORKS,
    }),
    cancelChannel: `${config.QUEUE_PREFIX}:task-cancel`,
    async close() {
      await producer.close().catch(() => undefined);
      redis.disconnect();
      producerConnection.disconnect();
      await database.close();
      await pgInfra.stop();
      await redisInfra.stop();
    },
  };
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
