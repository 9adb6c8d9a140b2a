import type { Logger } from '@baton/observability';
import type { ScheduleQueue } from './schedule.queue';
import type { ScheduleStore } from './schedule.store';

const PAGE = 500;

/**
 * Postgres says which schedules are active; Redis holds their job schedulers. After a Redis flush or a failover to
 * an empty replica a scheduler is gone (or stale): it is put back, and the schedule catches up on what it missed
 * by its own policy.
 */
export class ScheduleReconciler {
  constructor(
    private readonly store: ScheduleStore,
    private readonly queue: Pick<ScheduleQueue, 'scheduled' | 'sync' | 'catchUp' | 'pattern'>,
    private readonly log: Logger,
  ) {}

  async run(): Promise<{ checked: number; repaired: number }> {
    let checked = 0;
    let repaired = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.store.active(after, PAGE);
      for (const s of page) {
        checked++;
        if (!s.nextRunAt) continue;
        const pattern = await this.queue.scheduled(s.id);
        if (pattern === this.queue.pattern(s)) continue;
        await this.queue.sync(s);
        await this.queue.catchUp(s);
        repaired++;
        this.log.warn({ scheduleId: s.id, tenantId: s.tenantId }, 'job scheduler missing or stale in Redis; restored');
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].id;
    }
    return { checked, repaired };
  }
}
