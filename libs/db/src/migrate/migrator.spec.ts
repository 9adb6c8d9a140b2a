// Runs against the real Postgres on 127.0.0.1:5432 (trust auth): every test deploys into databases of its own.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { createMigration, migrateDeploy, migrateStatus } from './migrator';

const SERVER = process.env.MIGRATOR_TEST_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
const ROOT = findRepoRoot();
const MIGRATIONS_DIR = join(ROOT, 'prisma/migrations');
const MIGRATIONS = readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const SOME_TABLES = ['tenants', 'api_keys', 'tasks', 'task_logs', 'batches', 'batch_jobs', 'schedules', 'workers'];

const createdDatabases: string[] = [];
const tempDirs: string[] = [];

function findRepoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** A database name nobody else uses; dropped after the file's tests. */
function freshDatabase(): string {
  const name = `baton_migtest_${randomBytes(5).toString('hex')}`;
  createdDatabases.push(name);
  return name;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-migrate-'));
  tempDirs.push(dir);
  return dir;
}

async function query<T extends object>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: `${SERVER}/${database}` });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function tablesIn(database: string, schema: string): Promise<string[]> {
  const rows = await query<{ table_name: string }>(
    database,
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.table_name);
}

function checksum(migration: string): string {
  return createHash('sha256')
    .update(readFileSync(join(MIGRATIONS_DIR, migration, 'migration.sql')))
    .digest('hex');
}

function runCli(args: string[], databaseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [join(__dirname, 'cli.js'), ...args],
      { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

after(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  for (const name of createdDatabases) {
    await query('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
});

test('the repository has migrations to deploy', () => {
  assert.ok(MIGRATIONS.length > 0);
  assert.match(readFileSync(join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8'), /^provider = "postgresql"$/m);
});

test('deploy creates the database, the tables and Prisma-compatible _prisma_migrations rows', async (t) => {
  const database = freshDatabase();
  const started = performance.now();
  const { applied } = await migrateDeploy({ databaseUrl: `${SERVER}/${database}` });
  t.diagnostic(`first deploy into a fresh database: ${Math.round(performance.now() - started)} ms`);

  assert.deepEqual(applied, MIGRATIONS);
  const tables = await tablesIn(database, 'public');
  for (const table of [...SOME_TABLES, '_prisma_migrations']) assert.ok(tables.includes(table), `missing ${table}`);

  const rows = await query<{ migration_name: string; checksum: string; done: boolean; applied_steps_count: number }>(
    database,
    `SELECT migration_name, checksum, finished_at IS NOT NULL AND rolled_back_at IS NULL AS done, applied_steps_count
     FROM _prisma_migrations ORDER BY migration_name`,
  );
  assert.deepEqual(
    rows,
    MIGRATIONS.map((name) => ({ migration_name: name, checksum: checksum(name), done: true, applied_steps_count: 1 })),
  );

  await t.test('a second deploy applies nothing, quickly', async (t2) => {
    const again = performance.now();
    assert.deepEqual(await migrateDeploy({ databaseUrl: `${SERVER}/${database}` }), { applied: [] });
    const ms = performance.now() - again;
    t2.diagnostic(`deploy with nothing pending: ${Math.round(ms)} ms`);
    assert.ok(ms < 2_000, `took ${ms} ms`);
    const [{ count }] = await query<{ count: string }>(database, 'SELECT count(*) FROM _prisma_migrations');
    assert.equal(Number(count), MIGRATIONS.length);
  });

  await t.test('status reports the database up to date', async () => {
    const status = await migrateStatus({ databaseUrl: `${SERVER}/${database}` });
    assert.deepEqual(status, { migrations: MIGRATIONS, pending: [], failed: [], edited: [], unknown: [] });
  });
});

test('three deploy processes started at once into a missing database all succeed and apply once', async () => {
  const database = freshDatabase();
  const runs = await Promise.all([1, 2, 3].map(() => runCli(['deploy'], `${SERVER}/${database}`)));

  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const appliedLines = runs.flatMap((run) => run.stdout.split('\n').filter((line) => line.startsWith('applied ')));
  assert.deepEqual(
    appliedLines.sort(),
    MIGRATIONS.map((name) => `applied ${name}`),
  );
  const rows = await query<{ migration_name: string }>(database, 'SELECT migration_name FROM _prisma_migrations');
  assert.equal(rows.length, MIGRATIONS.length);
});

test('concurrent deploys within one process apply once', async () => {
  const databaseUrl = `${SERVER}/${freshDatabase()}`;
  const results = await Promise.all([1, 2, 3].map(() => migrateDeploy({ databaseUrl })));
  assert.deepEqual(
    results.flatMap((r) => r.applied),
    MIGRATIONS,
  );
});

test('?schema= puts every table, _prisma_migrations included, into that schema', async () => {
  const database = freshDatabase();
  const [first, second] = ['test_a', 'test_b'];
  const results = await Promise.all(
    [first, second].map((schema) => migrateDeploy({ databaseUrl: `${SERVER}/${database}?schema=${schema}` })),
  );
  assert.deepEqual(results, [{ applied: MIGRATIONS }, { applied: MIGRATIONS }]);

  for (const schema of [first, second]) {
    const tables = await tablesIn(database, schema);
    for (const table of [...SOME_TABLES, '_prisma_migrations']) assert.ok(tables.includes(table), `${schema}.${table}`);
  }
  assert.deepEqual(await tablesIn(database, 'public'), []);
  const again = await migrateDeploy({ databaseUrl: `${SERVER}/${database}?schema=${first}` });
  assert.deepEqual(again.applied, []);
});

test('a failing migration is rolled back as a whole and named in the error', async () => {
  const dir = tempDir();
  const write = (name: string, sql: string): void => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
  };
  // Semicolons inside a literal and a DO block: the script must reach Postgres in one piece.
  write(
    '20260101000000_ok',
    `CREATE TABLE "t1" ("id" TEXT PRIMARY KEY);\nDO $$ BEGIN PERFORM 1; END $$;\nINSERT INTO "t1" VALUES ('a;b');\n`,
  );
  write('20260102000000_bad', `CREATE TABLE "t2" ("id" TEXT);\nSELECT nope FROM nowhere;\n`);
  const database = freshDatabase();
  const databaseUrl = `${SERVER}/${database}`;

  await assert.rejects(
    migrateDeploy({ databaseUrl, migrationsDir: dir }),
    /migration 20260102000000_bad failed: .*nowhere/,
  );
  assert.deepEqual(await query(database, 'SELECT id FROM t1'), [{ id: 'a;b' }]);
  assert.ok(!(await tablesIn(database, 'public')).includes('t2'), 't2 must have been rolled back');
  const status = await migrateStatus({ databaseUrl, migrationsDir: dir });
  assert.deepEqual(status.failed, ['20260102000000_bad']);
  // Like `prisma migrate deploy`: nothing more is applied until the failed one is resolved.
  await assert.rejects(migrateDeploy({ databaseUrl, migrationsDir: dir }), /failed migrations/);
});

test('createMigration finds the committed migrations in sync with schema.prisma', async () => {
  const dir = tempDir();
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  assert.equal(await createMigration({ databaseUrl: `${SERVER}/postgres`, name: 'nothing', migrationsDir: dir }), null);
  assert.deepEqual(readdirSync(dir).sort(), [...MIGRATIONS, 'migration_lock.toml'].sort());
});

test('createMigration into an empty folder writes the whole schema and the lockfile', async () => {
  const dir = join(tempDir(), 'migrations');
  const folder = await createMigration({ databaseUrl: `${SERVER}/postgres`, name: 'First Try', migrationsDir: dir });
  assert.ok(folder);
  assert.match(folder, /[/\\]\d{14}_first_try$/);
  const script = readFileSync(join(folder, 'migration.sql'), 'utf8');
  // While there is one migration, the whole schema from scratch is exactly that migration.
  if (MIGRATIONS.length === 1)
    assert.equal(script, readFileSync(join(MIGRATIONS_DIR, MIGRATIONS[0] ?? '', 'migration.sql'), 'utf8'));
  else assert.match(script, /CREATE TABLE "tenants"/);
  assert.equal(
    readFileSync(join(dir, 'migration_lock.toml'), 'utf8'),
    readFileSync(join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8'),
  );
  const shadows = await query('postgres', `SELECT datname FROM pg_database WHERE datname LIKE 'baton_shadow_%'`);
  assert.deepEqual(shadows, [], 'the shadow database must be dropped');
});

test('the CLI prints one line on error and exits non-zero', async () => {
  const run = await runCli(['deploy'], 'postgresql://postgres@127.0.0.1:1/nowhere');
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  const usage = await runCli(['frobnicate'], `${SERVER}/postgres`);
  assert.notEqual(usage.code, 0);
  assert.match(usage.stderr, /usage/);
});
