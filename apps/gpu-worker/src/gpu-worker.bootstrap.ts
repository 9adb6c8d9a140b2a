import { hostname } from 'node:os';
import { newId } from '@baton/core';
import type { Runtime } from '@baton/runtime';

export interface GpuWorkerHandle {
  device: 'cuda' | 'cpu';
  close(): Promise<void>;
}

const HEARTBEAT_MS = 10_000;

/**
 * The GPU worker process: picks the ONNX Runtime execution provider (CUDA when INFERENCE_DEVICE=cuda and it loads,
 * else CPU), registers itself in the workers table and keeps a heartbeat there so operators see it. The inference
 * queue and micro-batcher attach here (issue 6).
 */
export async function startGpuWorker(runtime: Runtime): Promise<GpuWorkerHandle> {
  const { log, prisma } = runtime;
  const device = await pickDevice(runtime.config.INFERENCE_DEVICE === 'cuda', log);
  const id = newId('worker');
  await prisma.worker.create({ data: { id, role: 'gpu-worker', host: hostname(), pid: process.pid, queues: [] } });
  const beat = setInterval(() => {
    void prisma.worker.update({ where: { id }, data: { lastHeartbeatAt: new Date() } }).catch(() => undefined);
  }, HEARTBEAT_MS);
  beat.unref();
  log.info({ workerId: id, device }, 'gpu worker started');
  return {
    device,
    async close() {
      clearInterval(beat);
      await prisma.worker.delete({ where: { id } }).catch(() => undefined);
    },
  };
}

async function pickDevice(wantCuda: boolean, log: Runtime['log']): Promise<'cuda' | 'cpu'> {
  const ort = await import('onnxruntime-node');
  const backends = ort.listSupportedBackends?.() ?? [];
  const hasCuda = backends.some((b: { name: string }) => b.name === 'cuda');
  if (wantCuda && !hasCuda)
    log.warn({ backends }, 'INFERENCE_DEVICE=cuda but the CUDA execution provider is not available; using CPU');
  return wantCuda && hasCuda ? 'cuda' : 'cpu';
}
