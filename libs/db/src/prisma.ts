import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { connectionStringFor, withSettings } from './database-url';
import { PrismaClient } from './generated/client';

export { PrismaClient, Prisma } from './generated/client';
export type * from './generated/models';

export interface Database {
  prisma: PrismaClient;
  /**
   * The same connections Prisma uses, for the few hot-path statements that are batched by hand (task inserts and
   * transitions): one round trip and one commit for many rows, without Prisma's per-query planning.
   */
  pool: Pool;
  /**
   * Two connections of their own for the worker's hottest statements, task claims and successes (see HOT_SETTINGS);
   * the reconciler's re-read of tasks missing from Redis runs the claim's statement there too. Present where the server
   * takes more than one connection; absent on the embedded PGlite, which takes one.
   */
  hot?: Pool;
  close(): Promise<void>;
}

/**
 * The hot connections' sessions. Their statements are named, so each connection parses and plans them once and then
 * reuses one generic plan (no custom plans first: force_generic_plan). That plan is made for the table as it is then,
 * maybe empty, and a plan made for an empty table reads it in full (the trap claimTasks describes); with sequential
 * scans off, the planner takes the primary key whatever the size. Only statements that find rows by primary key run
 * there. Over a bench run, planning alone was a third of those two statements' time (pg_stat_statements).
 */
const HOT_SETTINGS = { enable_seqscan: 'off', plan_cache_mode: 'force_generic_plan' };
const HOT_CONNECTIONS = 2;

/** Prisma over node-postgres (driver adapter: no native engine, works offline), sharing one pool with raw SQL. */
export function createDatabase(opts: { url: string; poolSize: number }): Database {
  const { connectionString, schema } = connectionStringFor(opts.url);
  const open = (url: string, max: number) => {
    const pool = new Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 5_000,
      // a query stuck behind a dead server must not hold a request forever
      query_timeout: 30_000,
    });
    pool.on('error', () => undefined); // an idle connection dropped by the server; the pool replaces it
    return pool;
  };
  const pool = open(connectionString, opts.poolSize);
  // Connections open on first use: a process that never claims a task (the API) never opens these.
  const hot = opts.poolSize > 1 ? open(withSettings(connectionString, HOT_SETTINGS), HOT_CONNECTIONS) : undefined;
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
  return {
    prisma,
    pool,
    hot,
    async close() {
      await prisma.$disconnect().catch(() => undefined);
      await Promise.all([pool, ...(hot ? [hot] : [])].map((p) => p.end().catch(() => undefined)));
    },
  };
}
