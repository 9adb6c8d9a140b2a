import type { Pool } from 'pg';
import { Coalescer, newId } from '@baton/core';
import {
  toRunView,
  type NewSchedule,
  type RunEnding,
  type ScheduleChanges,
  type ScheduleRecord,
  type ScheduleRunRecord,
  type ScheduleStore,
  type TargetState,
} from '@baton/schedules';
import { Prisma, type PrismaClient } from './prisma';

/** Columns of a ScheduleRunRecord, optionally qualified by a table alias. */
const runColumns = (t = ''): string =>
  `${t}id, ${t}schedule_id AS "scheduleId", ${t}tenant_id AS "tenantId", ${t}scheduled_for AS "scheduledFor",
  ${t}fired_at AS "firedAt", ${t}lag_ms AS "lagMs", ${t}status, ${t}target_type AS "targetType",
  ${t}target_id AS "targetId", ${t}duration_ms AS "durationMs", ${t}deadline_at AS "deadlineAt",
  ${t}deadline_met AS "deadlineMet", ${t}finished_at AS "finishedAt", ${t}error`;
const RUN_COLUMNS = runColumns();

/** Columns of a ScheduleRecord, for the hot path (each firing reads its schedule). */
const SCHEDULE_COLUMNS = `id, tenant_id AS "tenantId", name, kind, cron, timezone, every_ms AS "everyMs", run_at AS "runAt",
  start_at AS "startAt", end_at AS "endAt", target, overlap, catch_up_policy AS "catchUpPolicy",
  catch_up_max_runs AS "catchUpMaxRuns", deadline_within_ms AS "deadlineWithinMs",
  expected_duration_ms AS "expectedDurationMs", priority, paused, next_run_at AS "nextRunAt",
  last_scheduled_for AS "lastScheduledFor", timing_group AS "timingGroup", version, created_at AS "createdAt", updated_at AS "updatedAt",
  deleted_at AS "deletedAt"`;
/** Statements of the firing path are merged across concurrent fires (see Coalescer): one round trip for many. */
const BATCHING = { maxBatch: 500, maxConcurrent: 2 };

interface Advance {
  id: string;
  caughtUpTo: Date | null;
  nextRunAt: Date | null;
}

type ScheduleRow = Awaited<ReturnType<PrismaClient['schedule']['findUniqueOrThrow']>>;
const toRecord = (row: ScheduleRow): ScheduleRecord => row as unknown as ScheduleRecord;
const toData = (s: ScheduleChanges | NewSchedule) => ({
  ...s,
  target: s.target as Prisma.InputJsonValue | undefined,
  notify: s.notify === undefined ? undefined : s.notify === null ? Prisma.DbNull : (s.notify as Prisma.InputJsonValue),
});

/**
 * The runs' completion events, one per run (its dedupKey), from a CTE named `done` of finished runs with the event
 * id chosen by the caller (ids sort by time) and the run as GET returns it.
 */
const EVENTS_FROM_DONE = `INSERT INTO notification_events (id, tenant_id, type, subject_type, subject_id, dedup_key, payload)
  SELECT d.event_id, d."tenantId", 'schedule.run.completed', 'schedule_run', d.id, 'schedule.run.completed:' || d.id,
         d.payload
  FROM done d ON CONFLICT (dedup_key) DO NOTHING`;

/** Schedules and their runs. Run inserts and endings are one statement each, whatever their number. */
export class PrismaScheduleStore implements ScheduleStore {
  private readonly finds: Coalescer<string, ScheduleRecord | null>;
  private readonly inserts: Coalescer<ScheduleRunRecord[], Set<string>>;
  private readonly dispatched: Coalescer<string, void>;
  private readonly advances: Coalescer<Advance, void>;
  private readonly opens: Coalescer<string, ScheduleRunRecord[]>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
  ) {
    this.finds = new Coalescer(async (ids) => {
      const { rows } = await pool.query<ScheduleRecord>({
        name: 'baton_find_schedules',
        text: `SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE id = ANY($1::text[])`,
        values: [[...new Set(ids)]],
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }, BATCHING);
    this.inserts = new Coalescer(async (batches) => {
      const inserted = await this.insertRunsNow(batches.flat());
      return batches.map(() => inserted);
    }, BATCHING);
    this.dispatched = new Coalescer<string, void>(async (ids) => {
      await pool.query({
        // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
        text: `UPDATE schedule_runs SET status = 'running' WHERE id = ANY($1::text[]) AND status = 'pending'`,
        values: [ids],
      });
      return ids.map(() => undefined);
    }, BATCHING);
    this.advances = new Coalescer<Advance, void>(async (items) => {
      await this.advanceNow(items);
      return items.map(() => undefined);
    }, BATCHING);
    // A timing group's members with overlap skip or cancel_previous each read their open runs as they fire.
    this.opens = new Coalescer(async (scheduleIds) => {
      const { rows } = await pool.query<ScheduleRunRecord>({
        // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
        text: `SELECT ${RUN_COLUMNS} FROM schedule_runs
               WHERE schedule_id = ANY($1::text[]) AND status IN ('pending', 'running')`,
        values: [[...new Set(scheduleIds)]],
      });
      const bySchedule = new Map<string, ScheduleRunRecord[]>();
      for (const r of rows) bySchedule.set(r.scheduleId, [...(bySchedule.get(r.scheduleId) ?? []), r]);
      return scheduleIds.map((id) => bySchedule.get(id) ?? []);
    }, BATCHING);
  }

  async create(schedule: NewSchedule): Promise<ScheduleRecord> {
    const existing = await this.prisma.schedule.findUnique({ where: { id: schedule.id } });
    if (existing) return toRecord(existing);
    try {
      return toRecord(await this.prisma.schedule.create({ data: toData(schedule) as Prisma.ScheduleCreateInput }));
    } catch (error) {
      // A concurrent retry with the same reserved id won: its row is ours.
      const raced = await this.prisma.schedule.findUnique({ where: { id: schedule.id } });
      if (raced) return toRecord(raced);
      throw error;
    }
  }

  async find(id: string, tenantId: string | null): Promise<ScheduleRecord | null> {
    const row = await this.finds.submit(id);
    return row && (tenantId === null || row.tenantId === tenantId) ? row : null;
  }

  async list(tenantId: string | null, afterId: string | undefined, limit: number): Promise<ScheduleRecord[]> {
    const rows = await this.prisma.schedule.findMany({
      where: { deletedAt: null, ...(tenantId ? { tenantId } : {}), ...(afterId ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  async update(id: string, changes: ScheduleChanges, ifVersion?: number): Promise<ScheduleRecord | null> {
    const { count } = await this.prisma.schedule.updateMany({
      where: { id, deletedAt: null, ...(ifVersion !== undefined ? { version: ifVersion } : {}) },
      data: { ...(toData(changes) as Prisma.ScheduleUpdateManyMutationInput), version: { increment: 1 } },
    });
    return count > 0 ? this.find(id, null) : null;
  }

  async softDelete(id: string): Promise<ScheduleRecord | null> {
    const { count } = await this.prisma.schedule.updateMany({
      where: { id, deletedAt: null },
      data: { deletedAt: new Date(), nextRunAt: null, version: { increment: 1 } },
    });
    return count > 0 ? this.find(id, null) : null;
  }

  advance(id: string, caughtUpTo: Date | null, nextRunAt: Date | null): Promise<void> {
    return this.advances.submit({ id, caughtUpTo, nextRunAt });
  }

  /** Forward only: lastScheduledFor and nextRunAt never move back, whatever order concurrent fires land in. */
  private async advanceNow(items: Advance[]): Promise<void> {
    const latest = (a: Date | null, b: Date | null): Date | null => (!a ? b : !b ? a : a > b ? a : b);
    const merged = new Map<string, Advance>();
    for (const item of items) {
      const seen = merged.get(item.id);
      merged.set(
        item.id,
        seen
          ? {
              id: item.id,
              caughtUpTo: latest(seen.caughtUpTo, item.caughtUpTo),
              nextRunAt: latest(seen.nextRunAt, item.nextRunAt),
            }
          : item,
      );
    }
    await this.pool.query({
      name: 'baton_schedules_advance',
      text: `UPDATE schedules s SET last_scheduled_for = GREATEST(s.last_scheduled_for, a.caught_up_to),
               next_run_at = CASE WHEN a.next_run_at IS NULL OR s.next_run_at IS NULL OR s.next_run_at < a.next_run_at
                                  THEN a.next_run_at ELSE s.next_run_at END
             FROM json_to_recordset($1::json) AS a(id text, caught_up_to timestamptz, next_run_at timestamptz)
             WHERE s.id = a.id`,
      values: [
        JSON.stringify(
          [...merged.values()].map((a) => ({ id: a.id, caught_up_to: a.caughtUpTo, next_run_at: a.nextRunAt })),
        ),
      ],
    });
  }

  async active(afterId: string | undefined, limit: number): Promise<ScheduleRecord[]> {
    const rows = await this.prisma.schedule.findMany({
      where: { paused: false, deletedAt: null, ...(afterId ? { id: { gt: afterId } } : {}) },
      orderBy: { id: 'asc' },
      take: limit,
    });
    return rows.map(toRecord);
  }

  async activeInTimingGroup(group: string, limit?: number): Promise<ScheduleRecord[]> {
    const { rows } = await this.pool.query<ScheduleRecord>({
      name: 'baton_timing_group_members',
      text: `SELECT ${SCHEDULE_COLUMNS} FROM schedules
             WHERE timing_group = $1 AND paused = false AND deleted_at IS NULL ORDER BY id LIMIT $2`,
      values: [group, limit ?? null],
    });
    return rows;
  }

  async assignTimingGroup(id: string, group: string, version: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE schedules SET timing_group = $2 WHERE id = $1 AND version = $3 AND deleted_at IS NULL',
      [id, group, version],
    );
    return (rowCount ?? 0) > 0;
  }

  async insertRuns(runs: ScheduleRunRecord[]): Promise<Set<string>> {
    const inserted = await this.inserts.submit(runs);
    return new Set(runs.filter((r) => inserted.has(r.id)).map((r) => r.id));
  }

  private async insertRunsNow(runs: ScheduleRunRecord[]): Promise<Set<string>> {
    // Skipped runs end as they are recorded: their completion event goes in the same statement.
    const { rows } = await this.pool.query<{ id: string }>({
      name: 'baton_insert_runs',
      text: `WITH input AS (
               SELECT * FROM json_to_recordset($1::json) AS r(id text, schedule_id text, tenant_id text,
                 scheduled_for timestamptz, fired_at timestamptz, lag_ms int, status text, target_type text,
                 target_id text, duration_ms int, deadline_at timestamptz, finished_at timestamptz, payload jsonb,
                 event_id text)
             ), inserted AS (
               INSERT INTO schedule_runs (id, schedule_id, tenant_id, scheduled_for, fired_at, lag_ms, status,
                                          target_type, target_id, duration_ms, deadline_at, finished_at)
               SELECT id, schedule_id, tenant_id, scheduled_for, fired_at, lag_ms, status, target_type, target_id,
                      duration_ms, deadline_at, finished_at FROM input
               ON CONFLICT DO NOTHING RETURNING id, tenant_id AS "tenantId", status
             ), done AS (
               SELECT i.id, i."tenantId", input.payload, input.event_id FROM inserted i JOIN input USING (id)
               WHERE i.status = 'skipped'
             ), events AS (${EVENTS_FROM_DONE})
             SELECT id FROM inserted`,
      values: [
        JSON.stringify(
          runs.map((r) => ({
            id: r.id,
            schedule_id: r.scheduleId,
            tenant_id: r.tenantId,
            scheduled_for: r.scheduledFor,
            fired_at: r.firedAt,
            lag_ms: r.lagMs,
            status: r.status,
            target_type: r.targetType,
            target_id: r.targetId,
            duration_ms: r.durationMs,
            deadline_at: r.deadlineAt,
            finished_at: r.finishedAt,
            payload: toRunView(r),
            event_id: r.status === 'skipped' ? newId('notification') : null,
          })),
        ),
      ],
    });
    return new Set(rows.map((r) => r.id));
  }

  markDispatched(runId: string): Promise<void> {
    return this.dispatched.submit(runId);
  }

  async finishRuns(endings: RunEnding[]): Promise<ScheduleRunRecord[]> {
    if (endings.length === 0) return [];
    const { rows } = await this.pool.query<ScheduleRunRecord>({
      // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
      text: `WITH input AS (
               SELECT * FROM json_to_recordset($1::json) AS e(id text, status text, finished_at timestamptz,
                 duration_ms int, deadline_met boolean, error jsonb, event_id text)
             ), changed AS (
               UPDATE schedule_runs r SET status = e.status, finished_at = e.finished_at, duration_ms = e.duration_ms,
                                          deadline_met = e.deadline_met, error = e.error
               FROM input e
               -- By primary key (see PENDING_BY_ID in batch.store.ts): not a scan of the status index.
               WHERE r.id = e.id AND r.id = ANY(ARRAY(SELECT id FROM input)) AND r.status IN ('pending', 'running')
               RETURNING ${runColumns('r.')}, e.event_id
             ), done AS (
               SELECT c.id, c."tenantId", c.event_id, jsonb_strip_nulls(jsonb_build_object(
                 'id', c.id, 'scheduleId', c."scheduleId", 'scheduledFor', c."scheduledFor", 'firedAt', c."firedAt",
                 'lagMs', c."lagMs", 'status', c.status, 'targetType', c."targetType", 'targetId', c."targetId",
                 'durationMs', c."durationMs", 'deadlineAt', c."deadlineAt", 'deadlineMet', c."deadlineMet",
                 'finishedAt', c."finishedAt", 'error', c.error)) AS payload
               FROM changed c
             ), events AS (${EVENTS_FROM_DONE})
             SELECT * FROM changed`,
      values: [
        JSON.stringify(
          endings.map((e) => ({
            id: e.id,
            status: e.status,
            finished_at: e.finishedAt,
            duration_ms: e.durationMs,
            deadline_met: e.deadlineMet,
            error: e.error,
            event_id: newId('notification'),
          })),
        ),
      ],
    });
    return rows;
  }

  async findRun(id: string): Promise<ScheduleRunRecord | null> {
    const { rows } = await this.pool.query<ScheduleRunRecord>(
      `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async runs(scheduleId: string, before: string | undefined, limit: number): Promise<ScheduleRunRecord[]> {
    const { rows } = await this.pool.query<ScheduleRunRecord>(
      `SELECT ${RUN_COLUMNS} FROM schedule_runs
       WHERE schedule_id = $1 AND ($2::timestamptz IS NULL OR scheduled_for < $2::timestamptz)
       ORDER BY scheduled_for DESC LIMIT $3`,
      [scheduleId, before ?? null, limit],
    );
    return rows;
  }

  openRuns(scheduleId: string): Promise<ScheduleRunRecord[]> {
    return this.opens.submit(scheduleId);
  }

  async runningRuns(limit: number): Promise<ScheduleRunRecord[]> {
    const { rows } = await this.pool.query<ScheduleRunRecord>({
      name: 'baton_running_runs',
      text: `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE status = 'running' ORDER BY deadline_at LIMIT $1`,
      values: [limit],
    });
    return rows;
  }

  async stalePending(before: Date, limit: number): Promise<ScheduleRunRecord[]> {
    const { rows } = await this.pool.query<ScheduleRunRecord>(
      `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE status = 'pending' AND fired_at < $1 LIMIT $2`,
      [before, limit],
    );
    return rows;
  }

  async pastDurations(scheduleId: string, limit: number): Promise<number[]> {
    const { rows } = await this.pool.query<{ d: number }>(
      `SELECT duration_ms AS d FROM schedule_runs
       WHERE schedule_id = $1 AND status = 'succeeded' AND duration_ms IS NOT NULL
       ORDER BY scheduled_for DESC LIMIT $2`,
      [scheduleId, limit],
    );
    return rows.map((r) => r.d);
  }

  async taskStates(ids: string[]): Promise<Map<string, TargetState>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<TargetState & { id: string }>({
      // Unnamed, so planned for these ids (see claimTasks in task.batches.ts).
      text: `SELECT id, status::text AS status, started_at AS "startedAt", finished_at AS "finishedAt", progress,
                    CASE WHEN last_error IS NULL THEN NULL
                         ELSE jsonb_build_object('code', last_error->>'code', 'message', last_error->>'message') END AS error
             FROM tasks WHERE id = ANY($1::text[])`,
      values: [ids],
    });
    return new Map(rows.map(({ id, ...state }) => [id, state]));
  }
}
