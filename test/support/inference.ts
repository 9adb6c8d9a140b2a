// Helpers for the inference end-to-end tests: the GPU worker in this process, polling, and inputs.
import { startGpuWorker, type GpuWorkerHandle } from '@baton/gpu-worker-app';
import { pngBase64 } from '@baton/inference';
import { waitFor, type Harness } from './harness';

export const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Starts the real GPU worker (CPU execution provider) on the harness's runtime. */
export function startGpu(h: Harness): Promise<GpuWorkerHandle> {
  return startGpuWorker(h.runtime);
}

export async function waitTerminal(h: Harness, key: string, id: string, timeoutMs = 120_000): Promise<any> {
  return waitFor(
    async () => {
      const r = await h.request('GET', `/v1/inference/jobs/${id}`, { key });
      return TERMINAL.includes(r.body?.status) ? r.body : undefined;
    },
    timeoutMs,
    `inference job ${id} to end`,
  );
}

/** Every item of a job, following cursors. */
export async function allResults(h: Harness, key: string, id: string, status?: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const q: URLSearchParams = new URLSearchParams({
      limit: '1000',
      ...(status ? { status } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const r: { status: number; body: any } = await h.request(
      'GET',
      `/v1/inference/jobs/${id}/results?${q.toString()}`,
      { key },
    );
    if (r.status !== 200) throw new Error(`results: ${r.status} ${JSON.stringify(r.body)}`);
    out.push(...r.body.data);
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

export const image = (seed = 1, width = 120, height = 30) => ({ image: pngBase64(width, height, seed) });

/** A PNG whose header claims `width` x `height`: refused from the header, before any bitmap is allocated. */
export function hugePngHeader(width: number, height: number): { image: string } {
  const bytes = Buffer.from(pngBase64(8, 8), 'base64');
  bytes.writeUInt32BE(width, 16);
  bytes.writeUInt32BE(height, 20);
  return { image: bytes.toString('base64') };
}

/** A PNG cut short: valid base64 and a PNG signature, but it does not decode. */
export function corruptPng(): { image: string } {
  const bytes = Buffer.from(pngBase64(40, 20), 'base64');
  return { image: Buffer.concat([bytes.subarray(0, 45), Buffer.alloc(20, 1)]).toString('base64') };
}

export const tensor = (dims: number[], fill = 0.5) => ({
  tensor: { dims, data: new Array(dims.reduce((a, b) => a * b, 1)).fill(fill) },
});
