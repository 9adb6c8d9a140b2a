import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';
import { registry } from './metrics';

export interface MetricsServer {
  /** The port it listens on (useful when asked for port 0 in tests); undefined when it could not listen. */
  port?: number;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  port: number;
  host: string;
  log: Pick<Logger, 'info' | 'error'>;
  /** Refreshes gauges read at scrape time (queue depths); bounded by the caller, errors ignored. */
  beforeScrape?: () => Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `/metrics` (Prometheus text) and `/healthz` (liveness) for processes without an API: the worker and the GPU worker.
 * Plain node:http, no framework. A port already taken is logged and the process goes on without metrics: the work
 * matters more than its figures, and Prometheus's `up == 0` for the target says the scrape is missing.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else if (path === '/metrics') {
      void scrape(opts.beforeScrape).then(
        (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(body),
        (err: unknown) => {
          opts.log.error({ err }, 'metrics scrape failed');
          res.writeHead(500).end();
        },
      );
    } else {
      res.writeHead(404).end();
    }
  });
  const port = await new Promise<number | undefined>((resolve) => {
    server.once('error', (err) => {
      opts.log.error({ err, port: opts.port }, 'metrics port unavailable: this process serves no /metrics');
      resolve(undefined);
    });
    server.listen(opts.port, opts.host, () => resolve((server.address() as AddressInfo).port));
  });
  if (port !== undefined) opts.log.info({ port, host: opts.host }, 'metrics at /metrics');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (port === undefined) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function scrape(beforeScrape?: () => Promise<void>): Promise<string> {
  await beforeScrape?.().catch(() => undefined);
  return registry.metrics();
}
