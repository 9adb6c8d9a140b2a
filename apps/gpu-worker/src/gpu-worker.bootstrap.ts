import { registerWorker, type Runtime } from '@baton/runtime';

export interface GpuWorkerHandle {
  device: 'cuda' | 'cpu';
  close(): Promise<void>;
}

/**
 * The GPU worker process: picks the ONNX Runtime execution provider (CUDA when INFERENCE_DEVICE=cuda and it loads,
 * else CPU), registers itself in the workers table and keeps a heartbeat there so operators see it. The inference
 * queue and micro-batcher attach here (issue 6).
 */
export async function startGpuWorker(runtime: Runtime): Promise<GpuWorkerHandle> {
  const device = await pickDevice(runtime.config.INFERENCE_DEVICE === 'cuda', runtime.log);
  const registration = await registerWorker(runtime, 'gpu-worker', []);
  runtime.log.info({ workerId: registration.id, device }, 'gpu worker started');
  return { device, close: () => registration.stop() };
}

async function pickDevice(wantCuda: boolean, log: Runtime['log']): Promise<'cuda' | 'cpu'> {
  const ort = await import('onnxruntime-node');
  const backends = ort.listSupportedBackends?.() ?? [];
  const hasCuda = backends.some((b: { name: string }) => b.name === 'cuda');
  if (wantCuda && !hasCuda)
    log.warn({ backends }, 'INFERENCE_DEVICE=cuda but the CUDA execution provider is not available; using CPU');
  return wantCuda && hasCuda ? 'cuda' : 'cpu';
}
