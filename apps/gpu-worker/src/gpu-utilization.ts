import { execFile } from 'node:child_process';
import type { Logger } from '@baton/observability';
import { metrics } from '@baton/observability';

const EVERY_MS = 5000;

/** Samples GPU utilisation from nvidia-smi into a gauge while inference runs on CUDA. Returns a stop function. */
export function watchGpuUtilization(log: Logger): () => void {
  let warned = false;
  const sample = () =>
    execFile(
      'nvidia-smi',
      ['--query-gpu=index,utilization.gpu', '--format=csv,noheader,nounits'],
      { timeout: 2000 },
      (error, stdout) => {
        if (error) {
          if (!warned) log.warn({ err: error }, 'nvidia-smi not usable; GPU utilisation is not reported');
          warned = true;
          return;
        }
        for (const line of stdout.trim().split('\n')) {
          const [gpu, percent] = line.split(',').map((s) => s.trim());
          if (gpu !== undefined && percent !== undefined) metrics.gpuUtilization.set({ gpu }, Number(percent) / 100);
        }
      },
    );
  sample();
  const timer = setInterval(sample, EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
