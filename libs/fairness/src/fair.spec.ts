import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import IORedis, { type Redis } from 'ioredis';
import { createLogger } from '@baton/observability';
import { FairQueue, publishTenantLimits, type FairEntry } from './fair.queue';
import { effectiveLimits, lanePriority, laneScore, virtualCost, workerWindow } from './fair.rules';

describe('fair rules', () => {
  it("puts a job back at its own priority: a task's from its data, another job's from BullMQ, else 5", () => {
    assert.equal(lanePriority({ data: { taskId: 't', priority: 1 }, opts: {} }), 1);
    assert.equal(lanePriority({ data: { taskId: 't', priority: 2 }, opts: { priority: 9 } }), 2);
    assert.equal(lanePriority({ data: { batchJobId: 'b' }, opts: { priority: 9 } }), 9);
    assert.equal(lanePriority({ data: undefined, opts: {} }), 5);
  });

  it('orders a lane by priority, each level worth agingMs of waiting', () => {
    const aging = 10_000;
    // A priority-1 job enqueued 5 s after a priority-2 job runs first; one enqueued 15 s after it does not.
    assert.ok(laneScore(1, 5_000, aging) < laneScore(2, 0, aging));
    assert.ok(laneScore(1, 15_000, aging) > laneScore(2, 0, aging));
    // Same priority: first in, first out.
    assert.ok(laneScore(5, 1, aging) < laneScore(5, 2, aging));
    // A low-priority job is delayed by at most (level - 1) × agingMs behind a stream of urgent ones.
    assert.equal(laneScore(10, 0, aging) - laneScore(1, 0, aging), 9 * aging);
  });

  it('costs a pick 1/weight of virtual time', () => {
    assert.equal(virtualCost(1), 1);
    assert.equal(virtualCost(4), 0.25);
    assert.equal(virtualCost(0), 100); // clamped to the smallest weight
  });

  it('sizes a worker-made window at twice the live concurrency', () => {
    assert.equal(workerWindow([32, 32]), 128);
    assert.equal(workerWindow([32, 32], 4), 256, 'or as many times as the queue asks (tasks: four)');
    assert.equal(workerWindow([]), 0);
  });

  it('fills what a tenant leaves out from the defaults', () => {
    const limits = effectiveLimits(
      { weight: 3, queues: { tasks: { maxInFlight: 10 } } },
      { weight: 1, maxInFlight: 0, ratePerSecond: 50 },
    );
    assert.deepEqual(limits, {
      weight: 3,
      queues: {
        tasks: { maxInFlight: 10, ratePerSecond: 50 },
        cluster: { maxInFlight: 0, ratePerSecond: 50 },
        inference: { maxInFlight: 0, ratePerSecond: 50 },
      },
    });
  });
});

/** The dispatcher against the real Redis, with a real BullMQ queue holding the parked jobs (no worker runs them). */
describe('fair dispatch (Redis)', () => {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const log = createLogger({ level: 'silent', name: 'fair-spec' });
  let redis: Redis;
  const opened: { queue: Queue; prefix: string }[] = [];

  before(() => {
    redis = new IORedis(url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    for (const { queue, prefix } of opened) {
      await queue.close();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });

  function setup(
    window: number | 'workers',
    defaults = { weight: 1, maxInFlight: 0, ratePerSecond: 0 },
    agingMs = 60_000,
  ) {
    const prefix = `fairspec${randomBytes(3).toString('hex')}`;
    const queue = new Queue('tasks', { connection: redis, prefix });
    opened.push({ queue, prefix });
    const fair = new FairQueue(redis, queue, prefix, 'tasks', { window, defaults, agingMs }, log);
    let n = 0;
    /** Adds jobs parked, as the producers do, then puts them in their lanes. */
    const add = async (tenantId: string, count: number, extra: Partial<FairEntry> = {}) => {
      const entries: FairEntry[] = [];
      for (let i = 0; i < count; i++) entries.push({ jobId: `${tenantId}-${n++}`, tenantId, priority: 5, ...extra });
      await queue.addBulk(
        entries.map((e) => ({ name: 'x', data: { tenantId }, opts: { jobId: e.jobId, ...FairQueue.parked() } })),
      );
      await fair.enqueue(entries);
      await fair.settle();
      return entries.map((e) => e.jobId);
    };
    const inFlight = async () =>
      Object.fromEntries(
        (await fair.stats()).tenants.filter((t) => t.inFlight > 0).map((t) => [t.tenantId, t.inFlight] as const),
      );
    const admittedIds = async () => (await queue.getJobs(['wait', 'prioritized'], 0, -1)).map((j) => j.id!);
    return { prefix, queue, fair, add, inFlight, admittedIds };
  }

  it('admits by weight while both tenants wait: 3:1', async () => {
    const { prefix, fair, add, inFlight } = setup('workers');
    await publishTenantLimits(redis, prefix, 'A', { weight: 3 });
    await add('A', 400);
    await add('B', 400);
    assert.deepEqual(await inFlight(), {}, 'no worker has declared capacity: nothing is admitted');
    // A worker of concurrency 100 makes a window of 200.
    fair.start('worker-1', 100);
    await new Promise((r) => setTimeout(r, 300));
    await fair.stop('worker-1');
    assert.deepEqual(await inFlight(), { A: 150, B: 50 });
  });

  it('gives a tenant alone the whole window, and promotes exactly what it admits', async () => {
    const { fair, add, inFlight, admittedIds } = setup(50);
    const ids = await add('A', 80);
    await fair.settle();
    assert.deepEqual(await inFlight(), { A: 50 });
    // FIFO within the tenant (same priority): the first 50 are the ones running.
    assert.deepEqual((await admittedIds()).sort(), ids.slice(0, 50).sort());
  });

  it('a tenant that starts waiting joins at the current virtual time: no credit banked while idle', async () => {
    const { fair, add, inFlight } = setup(100);
    await add('A', 300); // A alone takes the window: 100 picks
    await add('B', 300);
    // Free 40 slots of A's; the next 40 picks alternate between A and B (equal weights).
    const running = (await fair.queue.getJobs(['wait'], 0, 39)).map((j) => j.id!);
    for (const id of running) fair.release(id);
    await fair.settle();
    const counts = await inFlight();
    assert.equal(counts.A + counts.B, 100);
    assert.ok(Math.abs(counts.B - 20) <= 1, `B got ${counts.B} of 40 freed slots`);
  });

  it('an enqueue into a full window runs no cycle; the next job to end admits what waits', async () => {
    const { fair, add, inFlight, admittedIds } = setup(2);
    const [first] = await add('A', 2);
    assert.deepEqual(await inFlight(), { A: 2 });
    const scripted = redis as unknown as { fairCycle: (...args: unknown[]) => Promise<unknown> };
    const cycle = scripted.fairCycle;
    let cycles = 0;
    scripted.fairCycle = (...args) => {
      cycles += 1;
      return cycle.apply(redis, args);
    };
    try {
      const [waiting] = await add('A', 1);
      assert.equal(cycles, 0, 'the window was full: the enqueue asked for no cycle');
      assert.deepEqual(await inFlight(), { A: 2 });
      assert.ok(!(await admittedIds()).includes(waiting));
      fair.release(first);
      await fair.settle();
      assert.ok(cycles >= 1);
      assert.ok((await admittedIds()).includes(waiting), 'the freed slot went to the job that waited');
    } finally {
      scripted.fairCycle = cycle;
    }
  });

  it("never passes a tenant's maxInFlight; the rest goes to others", async () => {
    const { prefix, add, inFlight } = setup(100);
    await publishTenantLimits(redis, prefix, 'A', { queues: { tasks: { maxInFlight: 7 } } });
    await add('A', 50);
    await add('B', 50);
    assert.deepEqual(await inFlight(), { A: 7, B: 50 });
  });

  it("paces a tenant at its rate; another tenant's work is not held up by it", async () => {
    const { prefix, fair, add, inFlight } = setup(1000);
    await publishTenantLimits(redis, prefix, 'A', { queues: { tasks: { ratePerSecond: 20 } } });
    // The bucket holds one second's worth (20) and refills at 20/s while the cycles run, so what A may get beyond 20
    // depends on how long they took: bounded by the time measured around them, not by a guess at this machine's speed.
    const refilled = (since: number) => Math.ceil(((Date.now() - since) * 20) / 1000);
    let started = Date.now();
    await add('A', 200);
    await add('B', 30);
    const first = await inFlight();
    const burst = 20 + refilled(started);
    assert.ok(first.A >= 20 && first.A <= burst, `A got ${first.A} at once (a burst of one second: 20 to ${burst})`);
    assert.equal(first.B, 30);
    await new Promise((r) => setTimeout(r, 1000));
    started = Date.now();
    fair.kick();
    await fair.settle();
    const second = await inFlight();
    // A full bucket again (it stops at one second's worth however long A waited), and what refills during the cycle.
    const more = 20 + refilled(started);
    assert.ok(
      second.A - first.A >= 19 && second.A - first.A <= more,
      `A got ${second.A - first.A} more after one more second (19 to ${more})`,
    );
  });

  it('serves priorities within a tenant, and a job not yet due waits for its time', async () => {
    const { fair, add, admittedIds } = setup(1);
    const [low] = await add('A', 1, { priority: 9 }); // takes the only slot: nothing else waits yet
    const [later] = await add('A', 1, { priority: 1, readyAt: Date.now() + 400 });
    const [normal] = await add('A', 1, { priority: 5 });
    const [urgent] = await add('A', 1, { priority: 1 });
    const admitted = [low];
    assert.deepEqual(await admittedIds(), admitted);
    const next = async (done: string) => {
      fair.release(done);
      await fair.settle();
      const now = await admittedIds();
      return now.filter((id) => !admitted.includes(id) && admitted.push(id) > 0);
    };
    assert.deepEqual(await next(low), [urgent]);
    assert.deepEqual(await next(urgent), [normal]);
    assert.deepEqual(await next(normal), [], 'the later job is not due yet');
    await new Promise((r) => setTimeout(r, 450));
    fair.kick();
    await fair.settle();
    assert.ok((await admittedIds()).includes(later));
  });

  it('repairs after crashes: lost lane entries, admitted-but-parked jobs, slots of vanished jobs (past a grace)', async () => {
    const { prefix, queue, fair, add, inFlight, admittedIds } = setup(10);
    const running = await add('A', 2);
    // A process died between adding a job parked and putting it in its lane.
    await queue.add('x', { tenantId: 'B' }, { jobId: 'orphan', priority: 3, ...FairQueue.parked() });
    // A process died between admitting a job and promoting it: admitted, still parked.
    await queue.add('x', { tenantId: 'C' }, { jobId: 'stranded', ...FairQueue.parked() });
    await redis.hset(`${prefix}:fair:tasks:owner`, 'stranded', 'C');
    await redis.zadd(`${prefix}:fair:tasks:inflight:C`, Date.now() - 60_000, 'stranded');
    // A worker died after its job ended, before releasing it (a minute ago).
    await (await queue.getJob(running[0]))!.remove();
    await redis.zadd(`${prefix}:fair:tasks:inflight:A`, Date.now() - 60_000, running[0]);
    // Admitted from its spec just now, and about to be added: not in BullMQ yet, but not gone either.
    await redis.hset(`${prefix}:fair:tasks:owner`, 'adding', 'D');
    await redis.zadd(`${prefix}:fair:tasks:inflight:D`, Date.now(), 'adding');
    const report = await fair.audit(30_000);
    await fair.settle();
    assert.deepEqual(report, { released: 1, promoted: 1, relaned: 1 });
    assert.deepEqual((await admittedIds()).sort(), ['orphan', running[1], 'stranded'].sort());
    assert.deepEqual(await inFlight(), { A: 1, B: 1, C: 1, D: 1 });
  });

  it("re-lanes an orphan at its own priority: a task's from its data, another job's from its BullMQ options", async () => {
    const { prefix, queue, fair } = setup(0);
    // Added in this order, so the urgent task, last, comes first only for its own priority.
    await queue.add('x', { tenantId: 'B' }, { jobId: 'plain', ...FairQueue.parked() });
    await queue.add('x', { tenantId: 'B' }, { jobId: 'low-item', priority: 9, ...FairQueue.parked() });
    await queue.add('x', { tenantId: 'B', priority: 1 }, { jobId: 'urgent-task', ...FairQueue.parked() });
    assert.equal((await fair.audit(30_000)).relaned, 3);
    const lane = await redis.zrange(`${prefix}:fair:tasks:lane:B`, '0', '-1');
    assert.deepEqual(lane, ['urgent-task', 'plain', 'low-item']);
  });

  it('removes a cancelled job from its lane; enqueueing an admitted job again changes nothing', async () => {
    const { fair, add, inFlight, admittedIds } = setup(1);
    const [first] = await add('A', 1);
    const [second] = await add('A', 1);
    await fair.remove([second]);
    await fair.enqueue([{ jobId: first, tenantId: 'A', priority: 5 }]);
    fair.release(first);
    await fair.settle();
    assert.deepEqual(await admittedIds(), [first], 'the removed job was never admitted');
    assert.deepEqual(await inFlight(), {});
    const { tenants } = await fair.stats();
    assert.deepEqual(tenants, [{ tenantId: 'A', waiting: 0, inFlight: 0, perSecond: 0, headWaitingMs: 0 }]);
  });

  it('counts a job once when one call names it twice: enqueued twice, or released twice', async () => {
    const { prefix, fair, inFlight } = setup(0);
    const entry = { jobId: 'twice', tenantId: 'A', priority: 5 };
    await fair.enqueue([entry, { ...entry, priority: 1 }, { jobId: 'other', tenantId: 'A', priority: 5 }]);
    // The first entry holds: its place, at its priority.
    assert.deepEqual(await redis.zrange(`${prefix}:fair:tasks:lane:A`, '0', '-1'), ['twice', 'other']);
    assert.equal((await fair.stats()).tenants[0].waiting, 2);
    // Admitted by hand (window 0 admits nothing), then released twice in one cycle along with the other.
    await redis.hset(`${prefix}:fair:tasks:owner`, 'twice', 'A', 'other', 'A');
    await redis.zadd(`${prefix}:fair:tasks:inflight:A`, Date.now(), 'twice', Date.now(), 'other');
    assert.deepEqual(await inFlight(), { A: 2 });
    fair.release('twice');
    fair.release('twice');
    fair.release('other');
    await fair.settle();
    assert.deepEqual(await inFlight(), {});
    // Counted in the minute of the release: this one, or the one before if it just turned.
    const minute = Math.floor(Date.now() / 60_000);
    const counts = await Promise.all(
      [minute - 1, minute].map((m) => redis.hget(`${prefix}:fair:tasks:done:${m}`, 'A')),
    );
    assert.equal(
      counts.reduce((sum, c) => sum + Number(c ?? 0), 0),
      2,
      'two jobs finished, each counted once',
    );
  });
});
