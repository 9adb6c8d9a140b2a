import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterSimulator, type SimOutcome } from './cluster.simulator';
import type { SimulatorConfig, SimulatorOptions } from './simulator.config';
import type { SimulatorStats } from './simulator.stats';

/** A simulator listening on a real port. */
export interface RunningSimulator {
  /** Base URL to use as CLUSTER_URL, e.g. http://127.0.0.1:43121 */
  url: string;
  /** Changes behaviour from now on (e.g. start a 429 storm mid-test); returns the config in force. */
  configure(changes: SimulatorOptions): SimulatorConfig;
  config(): SimulatorConfig;
  stats(): SimulatorStats;
  /** Forgets jobs, counters and pending callbacks; keeps the config. */
  reset(): void;
  /** Resolves when no callback delivery is under way. */
  callbacksIdle(): Promise<void>;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Starts the simulator on node:http. Cluster calls (API.md): POST /jobs, GET /jobs/:id, POST /jobs/:id/cancel.
 * Control calls, never faulted: GET /stats, POST /reset, GET /config, POST /config (a partial config to merge).
 */
export async function startSimulator(
  options: SimulatorOptions = {},
  listen: ListenOptions = {},
): Promise<RunningSimulator> {
  const sim = new ClusterSimulator(options);
  const hung = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    route(sim, req, res, hung).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: (error as Error).message });
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    configure: (changes) => sim.configure(changes),
    config: () => sim.currentConfig(),
    stats: () => sim.stats(),
    reset: () => sim.reset(),
    callbacksIdle: () => sim.callbacksIdle(),
    close: async () => {
      sim.close();
      for (const timer of hung) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function route(sim: ClusterSimulator, req: IncomingMessage, res: ServerResponse, hung: Set<NodeJS.Timeout>) {
  const path = new URL(req.url ?? '/', 'http://sim').pathname;
  const method = req.method ?? 'GET';
  const job = /^\/jobs\/([^/]+)(\/cancel)?$/.exec(path);
  const jobUuid = job ? safeDecode(job[1]) : '';
  if (path === '/jobs' && method === 'POST') {
    const body = await readJson(req);
    if ('problem' in body) return send(res, body.status, { error: body.problem });
    return answer(res, sim.submit(body.value), hung);
  }
  if (job && !job[2] && method === 'GET') return answer(res, sim.status(jobUuid), hung);
  if (job && job[2] && method === 'POST') return answer(res, sim.cancel(jobUuid), hung);
  if (path === '/stats' && method === 'GET') return send(res, 200, sim.stats());
  if (path === '/reset' && method === 'POST') {
    sim.reset();
    return send(res, 204);
  }
  if (path === '/config' && method === 'GET') return send(res, 200, redact(sim.currentConfig()));
  if (path === '/config' && method === 'POST') {
    const body = await readJson(req);
    if ('problem' in body) return send(res, body.status, { error: body.problem });
    try {
      return send(res, 200, redact(sim.configure(body.value as SimulatorOptions)));
    } catch (error) {
      return send(res, 400, { error: (error as Error).message });
    }
  }
  const known = path === '/jobs' || job || ['/stats', '/reset', '/config'].includes(path);
  return send(res, known ? 405 : 404, { error: known ? `${method} not allowed here` : 'no such route' });
}

/** Writes the outcome, or holds the request open and then drops the connection without a word. */
function answer(res: ServerResponse, outcome: SimOutcome, hung: Set<NodeJS.Timeout>): void {
  if ('reply' in outcome) return send(res, outcome.reply.status, outcome.reply.body, outcome.reply.headers);
  const timer = setTimeout(() => {
    hung.delete(timer);
    res.socket?.destroy();
  }, outcome.hangMs);
  hung.add(timer);
  res.on('close', () => {
    clearTimeout(timer);
    hung.delete(timer);
  });
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<{ value: unknown } | { status: number; problem: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Drain an oversized body rather than stop reading: the connection must stay usable for the 413.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) return { status: 413, problem: `body over ${MAX_BODY_BYTES} bytes` };
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch {
    return { status: 400, problem: 'body is not JSON' };
  }
}

/** A malformed escape names no job: keep it as sent, so it reads 404 like any unknown id. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function redact(config: SimulatorConfig): SimulatorConfig {
  return config.callbacks ? { ...config, callbacks: { ...config.callbacks, secret: '***' } } : config;
}
