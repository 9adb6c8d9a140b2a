import {
  BatonError,
  decodeCursor,
  invalidState,
  notFound,
  parseLimit,
  toPage,
  validationFailed,
  type Page,
} from '@baton/core';
import type { Logger } from '@baton/observability';
import { fireTimesAfter, upcoming } from '@baton/scheduling';
import { timingGroupOf } from './schedule.pattern';
import { mergePatch, planSchedule, timingChanged, timingOf, type ScheduleInput } from './schedule.rules';
import type { ScheduleQueue } from './schedule.queue';
import type { ScheduleRunner } from './schedule.runner';
import type { ScheduleChanges, ScheduleStore } from './schedule.store';
import type { TargetRegistry } from './schedule.targets';
import {
  scheduleEtag,
  toRunView,
  toScheduleView,
  type NewSchedule,
  type RunView,
  type ScheduleRecord,
  type ScheduleView,
} from './schedule.types';

export const UPCOMING_MAX = 1000;

export interface ScheduleAnswer {
  schedule: ScheduleView;
  etag: string;
}

const answer = (s: ScheduleRecord): ScheduleAnswer => ({ schedule: toScheduleView(s), etag: scheduleEtag(s) });
const nextFire = (s: NewSchedule | ScheduleRecord, now: Date): Date | null =>
  fireTimesAfter(timingOf(s), now, 1)[0] ?? null;

/** The schedule use cases the API calls. `tenantId` null means an admin acting across tenants. */
export class ScheduleService {
  constructor(
    private readonly store: ScheduleStore,
    private readonly queue: Pick<ScheduleQueue, 'sync' | 'release' | 'catchUp' | 'remove'>,
    private readonly runner: ScheduleRunner,
    private readonly targets: TargetRegistry,
    private readonly settings: { minEveryMs: number },
    private readonly log: Logger,
  ) {}

  async create(tenantId: string, body: ScheduleInput, id: string): Promise<ScheduleAnswer> {
    const now = new Date();
    const planned = planSchedule(body, { ...this.context(id, tenantId, now), createdAt: now });
    const created = await this.store.create({ ...planned, nextRunAt: nextFire(planned, now) });
    await this.syncQuietly(created);
    return answer(created);
  }

  async get(id: string, tenantId: string | null): Promise<ScheduleAnswer> {
    return answer(await this.live(id, tenantId));
  }

  async list(tenantId: string | null, query: { limit?: unknown; cursor?: string }): Promise<Page<ScheduleView>> {
    const limit = parseLimit(query.limit);
    const rows = await this.store.list(tenantId, decodeCursor(query.cursor), limit + 1);
    const page = toPage(rows, limit, (s) => s.id);
    return { data: page.data.map(toScheduleView), nextCursor: page.nextCursor };
  }

  /** PATCH: a merge over the current definition, checked as a create would be; `ifMatch` guards against lost updates. */
  async update(id: string, tenantId: string | null, patch: ScheduleInput, ifMatch?: string): Promise<ScheduleAnswer> {
    const current = await this.live(id, tenantId);
    if (ifMatch !== undefined && !etagMatches(ifMatch, current)) throw preconditionFailed();
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
      throw validationFailed([{ field: 'body', message: 'must be a JSON object' }]);
    }
    const now = new Date();
    const planned = planSchedule(mergePatch(current, patch), {
      ...this.context(id, current.tenantId, now),
      createdAt: current.createdAt,
    });
    const fields: ScheduleChanges = { ...planned };
    for (const k of ['id', 'tenantId', 'createdAt'] as const) delete (fields as Record<string, unknown>)[k];
    const changes: ScheduleChanges = {
      ...fields,
      nextRunAt: nextFire(planned, now),
      // New fire times apply from now: the instants the new rule would have had in the past are not "missed".
      lastScheduledFor: timingChanged(current, planned) ? now : current.lastScheduledFor,
    };
    const updated = await this.store.update(id, changes, current.version);
    if (!updated) throw preconditionFailed();
    await this.syncQuietly(updated, current.paused && !updated.paused, current);
    return answer(updated);
  }

  async remove(id: string, tenantId: string | null): Promise<void> {
    const current = await this.find(id, tenantId);
    if (current.deletedAt) return;
    const deleted = await this.store.softDelete(id);
    if (deleted) await this.syncQuietly(deleted, false, current);
  }

  async pause(id: string, tenantId: string | null): Promise<ScheduleAnswer> {
    return this.setPaused(id, tenantId, true);
  }

  /** Resuming catches up on the fire times missed while paused, by the schedule's catch-up policy. */
  async resume(id: string, tenantId: string | null): Promise<ScheduleAnswer> {
    return this.setPaused(id, tenantId, false);
  }

  async trigger(id: string, tenantId: string | null, runId: string): Promise<RunView> {
    const s = await this.find(id, tenantId);
    if (s.deletedAt) throw invalidState('the schedule is deleted');
    return toRunView(await this.runner.trigger(s, runId));
  }

  async upcoming(
    id: string,
    tenantId: string | null,
    rawCount: unknown,
  ): Promise<{ data: { at: string; local: string }[]; timezone: string; paused: boolean }> {
    const count = rawCount === undefined || rawCount === '' ? 10 : Number(rawCount);
    if (!Number.isInteger(count) || count < 1 || count > UPCOMING_MAX) {
      throw validationFailed([{ field: 'count', message: `must be an integer from 1 to ${UPCOMING_MAX}` }]);
    }
    const s = await this.live(id, tenantId);
    // Exactly what will fire: nothing while paused.
    const runs = s.paused ? [] : upcoming(timingOf(s), new Date(), count);
    return {
      data: runs.map((r) => ({ at: r.at.toISOString(), local: r.local })),
      timezone: s.timezone,
      paused: s.paused,
    };
  }

  async runs(id: string, tenantId: string | null, query: { limit?: unknown; cursor?: string }): Promise<Page<RunView>> {
    const limit = parseLimit(query.limit);
    const before = decodeCursor(query.cursor);
    await this.live(id, tenantId);
    const rows = await this.store.runs(id, before, limit + 1);
    const page = toPage(rows, limit, (r) => r.id);
    return { data: page.data.map(toRunView), nextCursor: page.nextCursor };
  }

  private async setPaused(id: string, tenantId: string | null, paused: boolean): Promise<ScheduleAnswer> {
    const current = await this.find(id, tenantId);
    if (current.deletedAt) throw invalidState('the schedule is deleted');
    if (current.paused === paused) return answer(current);
    const now = new Date();
    // The group is (re)stated so that a row from before timing groups fires with its group once resumed.
    const changes = { paused, nextRunAt: nextFire(current, now), timingGroup: timingGroupOf(current) };
    const updated = await this.store.update(id, changes);
    if (!updated) throw invalidState('the schedule is deleted');
    await this.syncQuietly(updated, !paused, current);
    return answer(updated);
  }

  /** Including deleted schedules: actions on one answer invalid_state. */
  private async find(id: string, tenantId: string | null): Promise<ScheduleRecord> {
    const s = await this.store.find(id, tenantId);
    if (!s) throw notFound('schedule');
    return s;
  }

  private async live(id: string, tenantId: string | null): Promise<ScheduleRecord> {
    const s = await this.find(id, tenantId);
    if (s.deletedAt) throw notFound('schedule');
    return s;
  }

  private context(id: string, tenantId: string, now: Date) {
    return { id, tenantId, now, minEveryMs: this.settings.minEveryMs, targets: this.targets };
  }

  /**
   * Redis follows Postgres: the schedule's timing group gets its job scheduler while the schedule is active, and a
   * group it left (paused, deleted, timing changed) gives its scheduler back when no active member is left. If Redis
   * cannot be written now, the schedule is still saved and the reconciler puts its scheduler back (and catches up)
   * within RECONCILE_INTERVAL_MS; a group's fire job finding no member releases the scheduler too.
   */
  private async syncQuietly(s: ScheduleRecord, catchUp = false, before?: ScheduleRecord): Promise<void> {
    try {
      await this.queue.sync(s);
      if (catchUp) await this.queue.catchUp(s);
      const active = !s.paused && !s.deletedAt && s.nextRunAt;
      const left = new Set([before?.timingGroup, s.timingGroup].filter((g): g is string => !!g));
      if (active) left.delete(s.timingGroup!);
      for (const group of left) await this.queue.release(group, this.store);
      // A schedule from before timing groups had its own job scheduler (id = schedule id); its group fires it now.
      if (before && !before.timingGroup) await this.queue.remove(s.id);
    } catch (err) {
      this.log.warn(
        { scheduleId: s.id, tenantId: s.tenantId, err },
        'schedule saved; its job scheduler is repaired later',
      );
    }
  }
}

const preconditionFailed = (): BatonError =>
  new BatonError('precondition_failed', 'If-Match does not match the current ETag: read the schedule again');

function etagMatches(header: string, s: ScheduleRecord): boolean {
  const current = scheduleEtag(s);
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === current);
}
