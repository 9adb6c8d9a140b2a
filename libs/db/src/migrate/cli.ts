// node dist/libs/db/src/migrate/cli.js deploy | create <name> | status
// DATABASE_URL picks the database (a `?schema=` parameter is honoured). Progress goes to stderr, results to stdout.
import { relative } from 'node:path';
import { createMigration, DEFAULT_DATABASE_URL, migrateDeploy, migrateStatus } from './migrator';

const USAGE = 'usage: cli.js deploy | create <name> | status';

const log = (msg: string): void => {
  process.stderr.write(`migrate: ${msg}\n`);
};

async function deploy(databaseUrl: string): Promise<number> {
  const { applied } = await migrateDeploy({ databaseUrl, log });
  for (const name of applied) process.stdout.write(`applied ${name}\n`);
  if (applied.length === 0) log('no pending migrations');
  return 0;
}

async function create(databaseUrl: string, name: string | undefined): Promise<number> {
  if (!name) throw new Error(`missing migration name; ${USAGE}`);
  const folder = await createMigration({ databaseUrl, name });
  if (folder) process.stdout.write(`created ${relative(process.cwd(), folder)}\n`);
  else log('the schema has no change: no migration created');
  return 0;
}

/** Exits 1 unless the database is up to date, like `prisma migrate status`. */
async function status(databaseUrl: string): Promise<number> {
  const s = await migrateStatus({ databaseUrl });
  const lines = [
    ...s.pending.map((n) => `pending ${n}`),
    ...s.failed.map((n) => `failed ${n}`),
    ...s.edited.map((n) => `edited ${n}`),
    ...s.unknown.map((n) => `unknown ${n} (applied, not on disk)`),
  ];
  for (const line of lines) process.stdout.write(`${line}\n`);
  if (lines.length === 0) process.stdout.write(`up to date (${s.migrations.length} migrations)\n`);
  return lines.length === 0 ? 0 : 1;
}

async function main([command, ...args]: string[]): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
  switch (command) {
    case 'deploy':
      return deploy(databaseUrl);
    case 'create':
      return create(databaseUrl, args[0]);
    case 'status':
      return status(databaseUrl);
    default:
      throw new Error(USAGE);
  }
}

/** One line, whatever the error: engine and Postgres messages can span several. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

// exitCode rather than exit(): every connection is closed by then, and stdout gets flushed.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`migrate: ${oneLine(error)}\n`);
    process.exitCode = 1;
  },
);
