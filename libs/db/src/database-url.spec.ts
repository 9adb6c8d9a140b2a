// Runs against the real Postgres on 127.0.0.1:5432 (trust auth) for the settings that must reach a session.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from 'pg';
import { connectionStringFor, parseDatabaseUrl, withSearchPath, withSettings } from './database-url';

const SERVER = process.env.TEST_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';

test("Prisma's ?schema= becomes a search path in the startup options; the rest of the URL is kept", () => {
  const { plainUrl, schema, database } = parseDatabaseUrl('postgresql://u:p@h:5433/db?schema=app&sslmode=disable');
  assert.equal(schema, 'app');
  assert.equal(database, 'db');
  assert.equal(plainUrl, 'postgresql://u:p@h:5433/db?sslmode=disable');
  const { connectionString } = connectionStringFor('postgresql://h/db?schema=app');
  assert.equal(new URL(connectionString).searchParams.get('options'), '-c search_path="app"');
  assert.equal(connectionStringFor('postgresql://h/db').connectionString, 'postgresql://h/db');
});

test('settings add to options already there, with spaces and backslashes of values escaped', () => {
  const url = withSettings(withSearchPath('postgresql://h/db', 'my app'), { enable_seqscan: 'off', x: 'a\\b' });
  assert.equal(new URL(url).searchParams.get('options'), '-c search_path="my\\ app" -c enable_seqscan=off -c x=a\\\\b');
});

test('the settings reach the session, a schema name with a space and a quote included', async () => {
  const url = withSettings(withSearchPath(`${SERVER}/postgres`, 'odd "name" here'), {
    enable_seqscan: 'off',
    plan_cache_mode: 'force_generic_plan',
  });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ sp: string; ss: string; pc: string }>(
      `SELECT current_setting('search_path') AS sp, current_setting('enable_seqscan') AS ss,
              current_setting('plan_cache_mode') AS pc`,
    );
    assert.deepEqual(rows[0], { sp: '"odd ""name"" here"', ss: 'off', pc: 'force_generic_plan' });
  } finally {
    await client.end();
  }
});
