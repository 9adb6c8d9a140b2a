import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  path: string;
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/**
 * A real HTTP receiver for tests: records every request; `script(path)` returns the status (and optional delay) to
 * answer with, so a test can make an endpoint fail N times, hang, or succeed.
 */
export async function startReceiver(
  script: (
    path: string,
    hitsOnPath: number,
  ) => { status: number; delayMs?: number; body?: unknown; headers?: Record<string, string> } = () => ({
    status: 200,
  }),
) {
  const hits: Hit[] = [];
  const held = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({
        path,
        method: req.method ?? 'GET',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const answer = script(path, hits.filter((h) => h.path === path).length);
      const send = () =>
        res
          .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
          .end(JSON.stringify(answer.body ?? { ok: answer.status < 400 }));
      if (answer.delayMs) {
        const timer = setTimeout(() => {
          held.delete(timer);
          send();
        }, answer.delayMs);
        held.add(timer);
      } else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    hitsOn: (path: string) => hits.filter((h) => h.path === path),
    close: () =>
      new Promise<void>((r) => {
        for (const timer of held) clearTimeout(timer); // answers still held back are never sent
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
