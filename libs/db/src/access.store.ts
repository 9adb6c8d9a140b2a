import { generateApiKeySecret, hashApiKey, newId, SYSTEM_TENANT_ID, type Role } from '@baton/core';
import type { PrismaClient } from './prisma';

export interface TenantView {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiKeyView {
  id: string;
  tenantId: string;
  role: Role;
  name: string | null;
  createdAt: string;
  revokedAt?: string;
}

export interface ApiKeyMatch {
  keyId: string;
  tenantId: string;
  role: Role;
  revoked: boolean;
}

const tenantView = (t: { id: string; name: string; createdAt: Date }): TenantView => ({
  id: t.id,
  name: t.name,
  createdAt: t.createdAt.toISOString(),
});

/** Tenants and API keys. Secrets are shown once, at creation, and only their digest is stored. */
export class AccessStore {
  constructor(private readonly prisma: PrismaClient) {}

  async ensureSystemTenant(): Promise<void> {
    await this.prisma.tenant.upsert({
      where: { id: SYSTEM_TENANT_ID },
      create: { id: SYSTEM_TENANT_ID, name: 'system' },
      update: {},
    });
  }

  async createTenant(name: string, id = newId('tenant')): Promise<TenantView> {
    return tenantView(await this.prisma.tenant.create({ data: { id, name } }));
  }

  async findTenant(id: string): Promise<TenantView | null> {
    const t = await this.prisma.tenant.findUnique({ where: { id } });
    return t ? tenantView(t) : null;
  }

  /** A tenant's own fair-share settings (see libs/fairness TenantLimits), or null when the tenant does not exist. */
  async tenantLimits(id: string): Promise<Record<string, unknown> | null> {
    const t = await this.prisma.tenant.findUnique({ where: { id }, select: { settings: true } });
    return t ? ((t.settings ?? {}) as Record<string, unknown>) : null;
  }

  /** Replaces a tenant's own fair-share settings; false when the tenant does not exist. */
  async setTenantLimits(id: string, limits: object): Promise<boolean> {
    const { count } = await this.prisma.tenant.updateMany({ where: { id }, data: { settings: limits } });
    return count > 0;
  }

  /** Every tenant with settings of its own, for re-publishing them to Redis (after a flush, at start). */
  async tenantsWithLimits(): Promise<{ id: string; limits: Record<string, unknown> }[]> {
    const rows = await this.prisma.tenant.findMany({
      where: { NOT: { settings: { equals: {} } } },
      select: { id: true, settings: true },
    });
    return rows.map((r) => ({ id: r.id, limits: r.settings as Record<string, unknown> }));
  }

  async createApiKey(
    tenantId: string,
    role: Role,
    name: string | null,
    id = newId('apiKey'),
  ): Promise<ApiKeyView & { secret: string }> {
    const secret = generateApiKeySecret();
    const key = await this.prisma.apiKey.create({ data: { id, tenantId, role, name, secretHash: hashApiKey(secret) } });
    return { id: key.id, tenantId, role, name: key.name, createdAt: key.createdAt.toISOString(), secret };
  }

  async findKey(secret: string): Promise<ApiKeyMatch | null> {
    const key = await this.prisma.apiKey.findUnique({ where: { secretHash: hashApiKey(secret) } });
    return key ? { keyId: key.id, tenantId: key.tenantId, role: key.role, revoked: key.revokedAt !== null } : null;
  }

  /** True while the key exists, is not revoked and still has this role (console sessions signed in with it). */
  async keyActive(id: string, role: Role): Promise<boolean> {
    return (await this.prisma.apiKey.count({ where: { id, role, revokedAt: null } })) > 0;
  }

  /** Returns false when no such key exists. Revoking twice is fine. */
  async revokeKey(id: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0 || (await this.prisma.apiKey.count({ where: { id } })) > 0;
  }
}
