import type { Cluster, Redis } from 'ioredis';
import type { InferenceJobRecord } from './inference.types';
import { summaryVersion } from './inference.rules';

/** A non-terminal summary lives briefly: if a write to Redis is lost, readers fall back to Postgres soon. */
const LIVE_TTL_MS = 30_000;
const MAX_TTL_MS = 7 * 24 * 3600_000;

// Writes only when the stored summary is not newer (see summaryVersion): late writers never roll a job back.
const PUT = `
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'j', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** The small per-job summary status reads are served from (Redis); Postgres stays the record. */
export class InferenceSummaries {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:inference:summary:${id}`;
  }

  async get(id: string): Promise<InferenceJobRecord | null> {
    const json = await this.redis.hget(this.key(id), 'j');
    if (!json) return null;
    const raw = JSON.parse(json) as Record<string, unknown>;
    const date = (v: unknown) => (v ? new Date(v as string) : null);
    return {
      ...(raw as unknown as InferenceJobRecord),
      createdAt: new Date(raw.createdAt as string),
      startedAt: date(raw.startedAt),
      finishedAt: date(raw.finishedAt),
      expiresAt: new Date(raw.expiresAt as string),
    };
  }

  async put(job: InferenceJobRecord): Promise<void> {
    const terminal = job.finishedAt !== null;
    const ttl = terminal ? Math.min(MAX_TTL_MS, Math.max(1000, job.expiresAt.getTime() - Date.now())) : LIVE_TTL_MS;
    await this.redis.eval(PUT, 1, this.key(job.id), summaryVersion(job), JSON.stringify(job), ttl);
  }
}
