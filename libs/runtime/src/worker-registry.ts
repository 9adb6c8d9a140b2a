import { hostname } from 'node:os';
import { newId } from '@baton/core';
import type { Runtime } from './runtime';

const HEARTBEAT_MS = 10_000;

export interface Registration {
  id: string;
  stop(): Promise<void>;
}

/**
 * Records this process in the workers table (role, host, pid, queues) and keeps its heartbeat fresh, so operators
 * see which workers are alive; the row goes when the process stops cleanly, and a stale heartbeat tells of one that
 * died.
 */
export async function registerWorker(runtime: Runtime, role: string, queues: string[]): Promise<Registration> {
  const id = newId('worker');
  const { prisma } = runtime;
  await prisma.worker.create({ data: { id, role, host: hostname(), pid: process.pid, queues } });
  const beat = setInterval(() => {
    void prisma.worker.update({ where: { id }, data: { lastHeartbeatAt: new Date() } }).catch(() => undefined);
  }, HEARTBEAT_MS);
  beat.unref();
  return {
    id,
    async stop() {
      clearInterval(beat);
      await prisma.worker.delete({ where: { id } }).catch(() => undefined);
    },
  };
}
