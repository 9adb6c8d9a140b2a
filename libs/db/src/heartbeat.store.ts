import type { AlertSources, RunningUnit } from '@baton/alerts';
import type { PrismaClient } from './prisma';

/** Running work and its heartbeats, for stuck-job alerts (tasks; batch jobs join when batches land). */
export class HeartbeatStore implements Pick<AlertSources, 'silentSince' | 'recovered'> {
  constructor(private readonly prisma: PrismaClient) {}

  async silentSince(before: Date): Promise<RunningUnit[]> {
    const rows = await this.prisma.$queryRaw<Omit<RunningUnit, 'kind'>[]>`
      SELECT id, tenant_id AS "tenantId", heartbeat_at AS "heartbeatAt", started_at AS "startedAt" FROM tasks
      WHERE status = 'running' AND COALESCE(heartbeat_at, started_at) < ${before} LIMIT 1000`;
    return rows.map((r) => ({ ...r, kind: 'task' }));
  }

  async recovered(ids: string[], after: Date): Promise<string[]> {
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT id FROM unnest(${ids}::text[]) AS u(id)
      WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = u.id AND t.status = 'running'
                          AND COALESCE(t.heartbeat_at, t.started_at) <= ${after})`;
    return rows.map((r) => r.id);
  }
}
