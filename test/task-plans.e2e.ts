// The worker's task claims and successes are named statements on connections of their own (Database.hot): parsed and
// planned once per connection. Their one plan is made when a connection first runs them, maybe on a table still
// empty; these tests show that plan still goes by the primary key once the table is full, and that without the hot
// sessions' settings it would not.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PoolClient } from 'pg';
import { newId } from '@baton/core';
import { claimTasks, createDatabase, migrateDeploy, succeedTasks, type Database } from '@baton/db';
import type { TaskRecord } from '@baton/tasks';
import { freshDatabase } from './support/harness';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let database: Database;

before(async () => {
  db = await freshDatabase();
  await migrateDeploy({ databaseUrl: db.url });
  database = createDatabase({ url: db.url, poolSize: 4 });
  // Statistics stay those of the empty table: a server that analyses the table meanwhile would replan and hide the
  // trap the control test shows.
  await database.pool.query('ALTER TABLE tasks SET (autovacuum_enabled = false)');
  await database.pool.query(`INSERT INTO tenants (id, name) VALUES ('tnt_plans', 'plans')`);
});
after(async () => {
  await database.close();
  await db.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * How a prepared statement's plan reads `tasks`: "Seq Scan" for a full read, else the name of each index of tasks it
 * scans (an index scan names its table; a bitmap index scan only its index).
 */
async function tasksScans(client: PoolClient, execute: string): Promise<string[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${execute}`);
  const out: string[] = [];
  const walk = (n: PlanNode) => {
    if (n['Relation Name'] === 'tasks' && n['Node Type'] === 'Seq Scan') out.push('Seq Scan');
    if (n['Index Name']?.startsWith('tasks_')) out.push(n['Index Name']);
    n.Plans?.forEach(walk);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  return out;
}

async function fill(n: number): Promise<void> {
  await database.pool.query(
    `INSERT INTO tasks (id, tenant_id, handler, payload, max_attempts)
     SELECT 'tsk_fill' || lpad(g::text, 8, '0'), 'tnt_plans', 'noop', '{}', 3 FROM generate_series(1, $1::int) g
     ON CONFLICT DO NOTHING`,
    [n],
  );
}

const SUCCEED = (id: string) =>
  `EXECUTE baton_succeed_tasks('[{"id":"${id}","result":null,"event_id":"${newId('notification')}","attempts":1,` +
  `"started_at":null}]', now())`;

test('the hot connections plan claims and successes once, by primary key, even when first planned on an empty table', async () => {
  assert.ok(database.hot, 'a server that takes several connections gets hot ones');
  const client = await database.hot.connect();
  try {
    assert.equal((await client.query<{ s: string }>("SELECT current_setting('enable_seqscan') AS s")).rows[0].s, 'off');
    assert.equal(
      (await client.query<{ s: string }>("SELECT current_setting('plan_cache_mode') AS s")).rows[0].s,
      'force_generic_plan',
    );
    // Planned now, on the empty table, as a worker's first claim and success on a new database would be.
    const to = { db: client, prepared: true };
    assert.equal((await claimTasks(to, ['tsk_none'])).size, 0);
    const task = { id: 'tsk_none' } as TaskRecord; // only the id is read
    assert.equal(
      (await succeedTasks(to, [{ attempt: { task, number: 1, startedAt: new Date() }, result: null }])).size,
      0,
    );
    await fill(20_000);
    // The same prepared statements, now on 20,000 rows: still by primary key.
    const claim = await tasksScans(client, `EXECUTE baton_claim_tasks('{tsk_fill00000007}')`);
    assert.ok(
      claim.length > 0 && claim.every((s) => s.endsWith('tasks_pkey')),
      `claim scans tasks: ${claim.join(', ')}`,
    );
    const succeed = await tasksScans(client, SUCCEED('tsk_fill00000007'));
    assert.ok(
      succeed.length > 0 && succeed.every((s) => s === 'tasks_pkey'),
      `success reads by: ${succeed.join(', ')}`,
    );
    // And they work: a claim finds the row, a success moves it.
    const found = await claimTasks(to, ['tsk_fill00000007', 'tsk_fill00000008']);
    assert.deepEqual([...found.keys()].sort(), ['tsk_fill00000007', 'tsk_fill00000008']);
    const attempt = { task: found.get('tsk_fill00000007')!, number: 1, startedAt: new Date() };
    assert.deepEqual([...(await succeedTasks(to, [{ attempt, result: { ok: 1 } }]))], ['tsk_fill00000007']);
  } finally {
    client.release();
  }
});

test('control: the same statement prepared on an empty table without the hot settings reads the whole table', async () => {
  const client = await database.pool.connect();
  try {
    await client.query('SET plan_cache_mode = force_generic_plan'); // the sixth run's choice, made at once
    // A twin of tasks (a temporary table: never analysed behind our back), empty when the statement is planned.
    await client.query('CREATE TEMP TABLE twin (LIKE tasks INCLUDING ALL)');
    await client.query(`PREPARE twin_claim(text[]) AS
      SELECT id FROM twin WHERE id = ANY($1::text[]) AND status::text IN ('queued', 'running')`);
    await client.query(`EXECUTE twin_claim('{tsk_none}')`);
    await client.query(`INSERT INTO twin SELECT * FROM tasks`);
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `EXPLAIN (FORMAT JSON) EXECUTE twin_claim('{tsk_fill00000007}')`,
    );
    assert.equal(rows[0]['QUERY PLAN'][0].Plan['Node Type'], 'Seq Scan', 'planned on the empty table: a full scan');
    await client.query('DISCARD ALL');
  } finally {
    client.release();
  }
});
