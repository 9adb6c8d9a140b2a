import type { IdempotencyRecordView } from '@baton/core';
import { Prisma, type PrismaClient } from './prisma';

export interface StoredIdempotency extends IdempotencyRecordView {
  resourceId: string;
  responseStatus: number | null;
  responseBody: unknown;
  responseHeaders: Record<string, string> | null;
}

export interface IdempotencyClaim {
  tenantId: string;
  key: string;
  operation: string;
  fingerprint: string;
  resourceId: string;
  expiresAt: Date;
}

/** Idempotency-Key records: one row per (tenant, key); the primary key makes concurrent duplicates meet here. */
export class IdempotencyStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Claims the key for this request. Returns null when claimed, or the record that holds it already. */
  async claim(c: IdempotencyClaim): Promise<StoredIdempotency | null> {
    const inserted = await this.prisma.$executeRaw`
      INSERT INTO idempotency_records (tenant_id, key, operation, fingerprint, resource_id, expires_at)
      VALUES (${c.tenantId}, ${c.key}, ${c.operation}, ${c.fingerprint}, ${c.resourceId}, ${c.expiresAt})
      ON CONFLICT (tenant_id, key) DO NOTHING`;
    if (inserted > 0) return null;
    const row = await this.prisma.idempotencyRecord.findUnique({
      where: { tenantId_key: { tenantId: c.tenantId, key: c.key } },
    });
    if (!row) return this.claim(c); // released between our insert and read: try again
    return {
      operation: row.operation,
      fingerprint: row.fingerprint,
      state: row.state as StoredIdempotency['state'],
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      resourceId: row.resourceId,
      responseStatus: row.responseStatus,
      responseBody: row.responseBody,
      responseHeaders: row.responseHeaders as Record<string, string> | null,
    };
  }

  /**
   * Takes over a record whose request died or which expired, if nobody else did first (compare-and-set on its
   * creation time). A crashed request's reserved id is kept, so its retry finds the object it may have created.
   */
  async takeOver(c: IdempotencyClaim, previous: StoredIdempotency, keepResourceId: boolean): Promise<boolean> {
    const { count } = await this.prisma.idempotencyRecord.updateMany({
      where: { tenantId: c.tenantId, key: c.key, createdAt: previous.createdAt },
      data: {
        operation: c.operation,
        fingerprint: c.fingerprint,
        resourceId: keepResourceId ? previous.resourceId : c.resourceId,
        state: 'in_progress',
        createdAt: new Date(),
        expiresAt: c.expiresAt,
        responseStatus: null,
        responseBody: Prisma.DbNull,
        responseHeaders: Prisma.DbNull,
      },
    });
    return count > 0;
  }

  async complete(
    tenantId: string,
    key: string,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<void> {
    await this.prisma.idempotencyRecord.updateMany({
      where: { tenantId, key },
      data: {
        state: 'completed',
        responseStatus: status,
        responseBody: body as Prisma.InputJsonValue,
        responseHeaders: headers,
      },
    });
  }

  /** Forgets a claim whose request failed, so the client may retry with the same key. */
  async release(tenantId: string, key: string): Promise<void> {
    await this.prisma.idempotencyRecord.deleteMany({ where: { tenantId, key, state: 'in_progress' } });
  }

  async purgeExpired(now = new Date()): Promise<number> {
    const { count } = await this.prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }
}
