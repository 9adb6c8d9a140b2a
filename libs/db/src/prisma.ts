import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { connectionStringFor } from './database-url';
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
  close(): Promise<void>;
}

/** Prisma over node-postgres (driver adapter: no native engine, works offline), sharing one pool with raw SQL. */
export function createDatabase(opts: { url: string; poolSize: number }): Database {
  const { connectionString, schema } = connectionStringFor(opts.url);
  const pool = new Pool({
    connectionString,
    max: opts.poolSize,
    connectionTimeoutMillis: 5_000,
    // a query stuck behind a dead server must not hold a request forever
    query_timeout: 30_000,
  });
  pool.on('error', () => undefined); // an idle connection dropped by the server; the pool replaces it
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, schema ? { schema } : undefined) });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect().catch(() => undefined);
      await pool.end().catch(() => undefined);
    },
  };
}
