import type { Logger } from '@baton/observability';
import { timingGroupOf } from './schedule.pattern';
import type { ScheduleQueue } from './schedule.queue';
import type { ScheduleStore } from './schedule.store';

const PAGE = 500;

/**
 * Postgres says which schedules are active; Redis holds their timing groups' job schedulers. After a Redis flush or a
 * failover to an empty replica a scheduler is gone (or stale): it is put back, and each member catches up on what it
 * missed by its own policy. A schedule from before timing groups (its own job scheduler, no group) joins its group.
 */
export class ScheduleReconciler {
  constructor(
    private readonly store: ScheduleStore,
    private readonly queue: Pick<ScheduleQueue, 'scheduled' | 'sync' | 'catchUp' | 'pattern' | 'remove'>,
    private readonly log: Logger,
  ) {}

  async run(): Promise<{ checked: number; repaired: number }> {
    let checked = 0;
    let repaired = 0;
    let after: string | undefined;
    // Whether each group's scheduler was missing or stale when first seen in this pass: then all its members catch up.
    const restored = new Map<string, boolean>();
    for (;;) {
      const page = await this.store.active(after, PAGE);
      for (const s of page) {
        checked++;
        if (!s.nextRunAt) continue;
        const group = timingGroupOf(s);
        const joined = s.timingGroup !== group;
        if (joined) {
          // Changed meanwhile: whoever changed it synced it.
          if (!(await this.store.assignTimingGroup(s.id, group, s.version))) continue;
          await this.queue.remove(s.id);
        }
        if (!restored.has(group)) {
          const stale = (await this.queue.scheduled(group)) !== this.queue.pattern(s);
          if (stale) await this.queue.sync({ ...s, timingGroup: group });
          restored.set(group, stale);
        }
        if (!joined && !restored.get(group)) continue;
        await this.queue.catchUp(s);
        repaired++;
        this.log.warn(
          { scheduleId: s.id, tenantId: s.tenantId, timingGroup: group },
          joined ? 'schedule joined its timing group' : 'job scheduler missing or stale in Redis; restored',
        );
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].id;
    }
    return { checked, repaired };
  }
}
