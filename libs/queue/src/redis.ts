import IORedis, { Cluster, type ClusterNode, type Redis, type RedisOptions } from 'ioredis';

/** A connection to one Redis server or to a Redis Cluster: the same commands either way. */
export type RedisClient = Redis | Cluster;

/**
 * Where Redis is: one server at `url`, or, when `clusterNodes` has any, a Redis Cluster reached through those seed
 * nodes (`url` is then not used).
 */
export interface RedisTarget {
  url: string;
  clusterNodes: string[];
}

/**
 * A Redis connection. `blocking` connections (workers, subscribers) never fail a command for want of a connection
 * (BullMQ requires maxRetriesPerRequest: null there); request-path connections fail fast instead, so the API can
 * answer 503 rather than hang while Redis is away. A string is the URL of one server (tests, probes).
 */
export function createRedis(
  target: string | RedisTarget,
  opts: { blocking: boolean; name: string; pipelining?: boolean },
): RedisClient {
  const options: RedisOptions = {
    connectionName: `baton:${opts.name}`,
    maxRetriesPerRequest: opts.blocking ? null : 1,
    enableOfflineQueue: opts.blocking,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Commands issued in the same tick share one socket write. Not on blocking connections, where a blocking
    // command would hold up the pipeline behind it, unless the caller knows it sends none there (see pipelining).
    enableAutoPipelining: opts.pipelining ?? !opts.blocking,
    lazyConnect: false,
  };
  if (typeof target === 'string' || target.clusterNodes.length === 0) {
    return new IORedis(typeof target === 'string' ? target : target.url, options);
  }
  const seeds = target.clusterNodes.map(seedNode);
  const { username, password, tls } = seeds[0];
  // Per-node options; reconnecting, the offline queue and pipelining are the cluster client's own.
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...nodeOptions } = options;
  return new Cluster(
    seeds.map((s) => s.node),
    {
      redisOptions: { ...nodeOptions, username, password, tls },
      enableOfflineQueue,
      enableAutoPipelining,
      clusterRetryStrategy: retryStrategy,
    },
  );
}

/** One seed: where it is, and the credentials and TLS the first seed's URL carries (used for every node). */
function seedNode(entry: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> & { node: ClusterNode } {
  const url = new URL(/^\w+:\/\//.test(entry) ? entry : `redis://${entry}`);
  return {
    node: { host: url.hostname, port: Number(url.port || 6379) },
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

/**
 * Resolves once `client` is ready for commands, or after `capMs` (whatever its state then: a Redis that is away is
 * reported by /readyz and 503s, not by a boot that hangs).
 *
 * A Redis Cluster client passes through `connect` before `ready` (one round trip, its ready check), and on a
 * connection with no offline queue every command sent in between fails with "Cluster isn't ready". The ready check
 * itself fails when the node it goes to is not connected yet, and the client goes round again after a delay. BullMQ
 * counts `connect` as ready for a cluster, so a Queue built in that window fails its first `INFO`. Wait for the real
 * `ready` before building queues on it.
 */
export async function whenRedisReady(client: RedisClient, capMs: number): Promise<void> {
  if (client.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  try {
    await new Promise<void>((resolve) => {
      onReady = resolve;
      client.once('ready', onReady);
      timer = setTimeout(resolve, capMs);
    });
  } finally {
    clearTimeout(timer);
    if (onReady) client.removeListener('ready', onReady);
  }
}
