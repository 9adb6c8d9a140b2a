// Runs against the real Postgres on 127.0.0.1:5432 (trust auth), in a temporary table of one session.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createDatabase } from './prisma';

const db = createDatabase({
  url: process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
  poolSize: 1,
});
after(() => db.close());

test('a prepared statement is planned for the table as it is, not kept on a plan made while it was small', async () => {
  const client = await db.pool.connect();
  try {
    await client.query('CREATE TEMP TABLE plan_probe (id text PRIMARY KEY, status text NOT NULL)');
    // Analysed while small, as autovacuum does a table just created and filling.
    await client.query("INSERT INTO plan_probe VALUES ('a', 'queued'), ('b', 'queued'); ANALYZE plan_probe");
    await client.query('PREPARE probe(text[]) AS SELECT id FROM plan_probe WHERE id = ANY($1) AND status = $$queued$$');
    // Past the five runs after which Postgres would otherwise settle on a generic plan, made on a two-row table and
    // kept as the table grows (inserts alone, before any ANALYZE, do not make it plan again).
    for (let i = 0; i < 8; i++) await client.query("EXECUTE probe('{a}')");
    await client.query("INSERT INTO plan_probe SELECT 'x' || g, 'succeeded' FROM generate_series(1, 20000) g");
    const plan = (await client.query<{ 'QUERY PLAN': string }>("EXPLAIN EXECUTE probe('{a,b}')")).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    assert.match(plan, /Index/, plan);
    assert.doesNotMatch(plan, /Seq Scan/, plan);
  } finally {
    await client.query('DEALLOCATE ALL; DROP TABLE IF EXISTS plan_probe').catch(() => undefined);
    client.release();
  }
});
