import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient, Prisma } from './generated/client';
export type * from './generated/models';

/** Splits a `?schema=` parameter (Prisma's convention) off a Postgres URL. */
export function parseDatabaseUrl(url: string): { connectionString: string; schema?: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/** Prisma over node-postgres (driver adapter: no native engine, works offline). */
export function createPrismaClient(opts: { url: string; poolSize: number }): PrismaClient {
  const { connectionString, schema } = parseDatabaseUrl(opts.url);
  const adapter = new PrismaPg(
    {
      connectionString,
      max: opts.poolSize,
      connectionTimeoutMillis: 5_000,
      // a query stuck behind a dead server must not hold a request forever
      query_timeout: 30_000,
      ...(schema ? { options: `-c search_path="${schema}"` } : {}),
    },
    schema ? { schema } : undefined,
  );
  return new PrismaClient({ adapter });
}

/** True when the error is a unique-constraint violation (Prisma P2002 or Postgres 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as {
    code?: string;
    cause?: { code?: string };
    meta?: { driverAdapterError?: { cause?: { kind?: string } } };
  };
  return (
    e?.code === 'P2002' ||
    e?.code === '23505' ||
    e?.cause?.code === '23505' ||
    e?.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation'
  );
}
