// Baton on a Redis Cluster: three redis-server nodes in cluster mode, started by this test on free ports, joined
// with `redis-cli --cluster create`. The API and the workers run against it (REDIS_CLUSTER_NODES); a task (with a
// webhook and a cancel over pub/sub), a batch on the built-in cluster simulator and a schedule go end to end.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import IORedis, { Cluster } from 'ioredis';
import { createRedis, whenRedisReady } from '@baton/queue';
import { Queue } from 'bullmq';
import { freePort, startBaton, TEST_REDIS_URL, waitFor, type Harness } from './support/harness';
import { startReceiver } from './support/receiver';

interface RedisCluster {
  nodes: string[];
  stop(): Promise<void>;
}

/** Three empty cluster-mode nodes, all slots assigned, no replicas; stop() kills them and removes their files. */
async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-rcluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const stop = async () => {
    await Promise.all(
      children.map((c) => {
        if (c.exitCode !== null) return Promise.resolve();
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await waitFor(() => ping(port), 10_000, `redis-server on ${port}`);
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(create.status, 0, create.stdout + create.stderr);
    for (const port of ports) {
      await waitFor(() => clusterOk(port), 20_000, `cluster_state:ok on ${port}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}

async function ping(port: number): Promise<boolean> {
  const probe = new IORedis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

async function clusterOk(port: number): Promise<boolean> {
  const probe = new IORedis(port, '127.0.0.1');
  try {
    return /cluster_state:ok/.test(String(await probe.call('CLUSTER', 'INFO')));
  } finally {
    probe.disconnect();
  }
}

/** Every key of every primary that starts with `prefix`, with the node it is on. */
async function keysByNode(cluster: Cluster, prefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const node of cluster.nodes('master')) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) out.set(`${node.options.host}:${node.options.port}`, keys);
  }
  return out;
}

let rc: RedisCluster;
let h: Harness;
let key: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

before(async () => {
  rc = await startRedisCluster();
  receiver = await startReceiver();
  h = await startBaton({
    REDIS_CLUSTER_NODES: rc.nodes.join(','),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    NOTIFY_DISPATCH_INTERVAL_MS: '200',
    SCHEDULE_SWEEP_INTERVAL_MS: '200',
  });
  key = (await h.tenant('member')).key;
});

after(async () => {
  await h?.close();
  await receiver?.close();
  await rc?.stop();
});

describe('on a Redis Cluster of three nodes', () => {
  test('the queue prefix is hash-tagged and the connections are cluster connections', () => {
    assert.equal(h.runtime.config.QUEUE_PREFIX, `{${h.prefix}}`);
    assert.ok(h.runtime.redis instanceof Cluster);
    assert.deepEqual(h.runtime.redisTarget.clusterNodes, rc.nodes);
  });

  test('a request-path connection caught between connect and ready waits for ready before BullMQ uses it', async () => {
    // ioredis' cluster client spends a round trip (its ready check) in `connect` before `ready`; with no offline
    // queue a command sent then fails, and BullMQ counts `connect` as ready. A ready check that fails (a node's own
    // connection not up yet) sends the client round again. Boot used to race this (see whenRedisReady).
    const client = createRedis({ url: TEST_REDIS_URL, clusterNodes: rc.nodes }, { blocking: false, name: 'e2e' });
    client.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      const inConnect = await new Promise<{ early: Promise<unknown>; late: Promise<unknown> }>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error('the client was never seen in connect')), 20_000);
        const onConnect = (): void => {
          // The event comes a tick after the status changed: a round whose ready check already failed is skipped.
          if (client.status !== 'connect') return;
          client.off('connect', onConnect);
          const early = client.info('server');
          const late = whenRedisReady(client, 10_000).then(async () => {
            const queue = new Queue('ready-check', { connection: client, prefix: `{${h.prefix}-ready}` });
            try {
              await queue.waitUntilReady();
              return await queue.getJobCounts('waiting');
            } finally {
              await queue.close();
            }
          });
          resolve({ early, late });
        };
        client.on('connect', onConnect);
      });
      await assert.rejects(inConnect.early, /Cluster isn't ready/);
      assert.deepEqual(await inConnect.late, { waiting: 0 });
      assert.equal(client.status, 'ready');
    } finally {
      clearTimeout(timer);
      client.disconnect();
    }
  });

  test('a task runs, its webhook arrives, and a running task is cancelled over pub/sub', async () => {
    const task = await h.request('POST', '/v1/tasks', {
      key,
      body: { handler: 'noop', notify: { webhook: { url: `${receiver.url}/task` } } },
    });
    assert.equal(task.status, 202, JSON.stringify(task.body));
    await waitFor(
      async () => (await h.request('GET', `/v1/tasks/${task.body.id}`, { key })).body.status === 'succeeded',
      30_000,
      'the task to succeed',
    );
    await waitFor(() => Promise.resolve(receiver.hitsOn('/task').length > 0), 30_000, 'the webhook');

    const long = await h.request('POST', '/v1/tasks', { key, body: { handler: 'sleep', payload: { ms: 20_000 } } });
    await waitFor(
      async () => (await h.request('GET', `/v1/tasks/${long.body.id}`, { key })).body.status === 'running',
      30_000,
      'the sleep task to run',
    );
    const cancel = await h.request('POST', `/v1/tasks/${long.body.id}/cancel`, { key });
    assert.equal(cancel.status, 202);
    await waitFor(
      async () => {
        const job = await h.runtime.producer.queue('tasks').getJob(long.body.id);
        return !job || (await job.getState()) !== 'active';
      },
      10_000,
      'the running job to stop',
    );
  });

  test('a batch runs to the end on the built-in simulator: a flow across the batches and cluster queues', async () => {
    const batch = await h.request('POST', '/v1/batches', {
      key,
      body: { items: Array.from({ length: 8 }, (_, i) => ({ i })), policy: { backoff: { baseMs: 50, maxMs: 200 } } },
    });
    assert.equal(batch.status, 202, JSON.stringify(batch.body));
    const done = await waitFor(
      async () => {
        const r = await h.request('GET', `/v1/batches/${batch.body.id}`, { key });
        return r.body.outcome ? r.body : undefined;
      },
      60_000,
      'the batch to end',
    );
    assert.equal(done.outcome, 'all_succeeded', JSON.stringify(done));
    assert.equal(done.counts.succeeded, 8);
  });

  test('a schedule fires and its run succeeds', async () => {
    const s = await h.request('POST', '/v1/schedules', {
      key,
      body: { name: 'on-cluster', everyMs: 1000, target: { type: 'task', handler: 'noop' } },
    });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    await waitFor(
      async () => {
        const runs = (await h.request('GET', `/v1/schedules/${s.body.id}/runs`, { key })).body.data as any[];
        return runs.some((r) => r.status === 'succeeded');
      },
      30_000,
      'a run to succeed',
    );
  });

  test('readiness, queue views and the metrics gauges read the cluster', async () => {
    const ready = await h.request('GET', '/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.checks.redis, 'ok');
    const queues = await h.request('GET', '/v1/queues', { key: h.adminKey });
    assert.equal(queues.status, 200, JSON.stringify(queues.body));
    const names = queues.body.data.map((q: any) => q.name);
    assert.ok(names.includes('tasks') && names.includes('cluster'), JSON.stringify(names));
    const metrics = (await h.request('GET', '/metrics')).body as string;
    assert.match(metrics, /^baton_queue_jobs\{queue="tasks",state="completed"\} [1-9]/m);
    assert.match(metrics, /^baton_schedule_lag_seconds_count\{target="task"\} [1-9]/m);
  });

  test('every key is in the one slot of the hash tag, on the cluster, none on REDIS_URL', async () => {
    const cluster = new Cluster(rc.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })));
    const single = new IORedis(TEST_REDIS_URL);
    try {
      await new Promise((resolve) => cluster.once('ready', resolve));
      const prefix = `{${h.prefix}}`;
      const byNode = await keysByNode(cluster, prefix);
      const keys = [...byNode.values()].flat();
      assert.equal(byNode.size, 1, 'all on one node');
      for (const q of ['tasks', 'batches', 'cluster', 'schedules', 'notifications']) {
        assert.ok(
          keys.some((k) => k.startsWith(`${prefix}:${q}:`)),
          `keys of ${q}`,
        );
      }
      const slots = new Set(await Promise.all(keys.slice(0, 200).map((k) => cluster.call('CLUSTER', 'KEYSLOT', k))));
      assert.equal(slots.size, 1, 'one slot');
      const [, stray] = await single.scan('0', 'MATCH', `*${h.prefix}*`, 'COUNT', 100_000);
      assert.deepEqual(stray, [], 'nothing went to REDIS_URL');
    } finally {
      cluster.disconnect();
      single.disconnect();
    }
  });
});
