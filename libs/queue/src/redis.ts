import IORedis, { type Redis } from 'ioredis';

/**
 * A Redis connection. `blocking` connections (workers, subscribers) never fail a command for want of a connection
 * (BullMQ requires maxRetriesPerRequest: null there); request-path connections fail fast instead, so the API can
 * answer 503 rather than hang while Redis is away.
 */
export function createRedis(url: string, opts: { blocking: boolean; name: string }): Redis {
  return new IORedis(url, {
    connectionName: `baton:${opts.name}`,
    maxRetriesPerRequest: opts.blocking ? null : 1,
    enableOfflineQueue: opts.blocking,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Commands issued in the same tick share one socket write. Not on blocking connections, where a blocking
    // command would hold up the pipeline behind it.
    enableAutoPipelining: !opts.blocking,
    lazyConnect: false,
  });
}
