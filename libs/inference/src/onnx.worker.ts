// The inference thread: owns the ONNX Runtime sessions. onnxruntime-node runs a session synchronously on the calling
// thread, so on the main thread every batch would stop the event loop (claims, result writes, acknowledgements) for
// as long as the model runs; here the two overlap.
import { parentPort } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

export type ThreadRequest =
  | { id: number; type: 'load'; file: string; wantCuda: boolean; threads: number }
  | { id: number; type: 'run'; file: string; dims: number[]; data: Float32Array }
  | { id: number; type: 'close' };

export type ThreadReply =
  | { id: number; ok: true; device?: 'cuda' | 'cpu'; fallback?: string; dims?: number[]; data?: Float32Array }
  | { id: number; ok: false; error: string };

const sessions = new Map<string, { session: InferenceSession; device: 'cuda' | 'cpu' }>();

async function load(file: string, wantCuda: boolean, threads: number) {
  const ort = await import('onnxruntime-node');
  const options: InferenceSession.SessionOptions = {
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    // ORT's threads spin after each run waiting for the next; they would take the cores the event loop needs.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  let fallback: string | undefined;
  if (wantCuda) {
    try {
      const session = await ort.InferenceSession.create(file, { ...options, executionProviders: ['cuda'] });
      return { session, device: 'cuda' as const };
    } catch (error) {
      fallback = (error as Error).message;
    }
  }
  const session = await ort.InferenceSession.create(file, { ...options, executionProviders: ['cpu'] });
  return { session, device: 'cpu' as const, fallback };
}

async function handle(msg: ThreadRequest): Promise<ThreadReply> {
  if (msg.type === 'load') {
    const existing = sessions.get(msg.file);
    if (existing) return { id: msg.id, ok: true, device: existing.device };
    const loaded = await load(msg.file, msg.wantCuda, msg.threads);
    sessions.set(msg.file, loaded);
    return { id: msg.id, ok: true, device: loaded.device, fallback: loaded.fallback };
  }
  if (msg.type === 'close') {
    for (const { session } of sessions.values()) await session.release();
    sessions.clear();
    return { id: msg.id, ok: true };
  }
  const entry = sessions.get(msg.file);
  if (!entry) throw new Error(`no session for ${msg.file}`);
  const ort = await import('onnxruntime-node');
  const { session } = entry;
  const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', msg.data, msg.dims) });
  const out = outputs[session.outputNames[0]];
  return { id: msg.id, ok: true, dims: [...out.dims], data: out.data as Float32Array };
}

parentPort?.on('message', (msg: ThreadRequest) => {
  handle(msg).then(
    (reply) => parentPort?.postMessage(reply, reply.ok && reply.data ? [reply.data.buffer as ArrayBuffer] : []),
    (error: unknown) => parentPort?.postMessage({ id: msg.id, ok: false, error: (error as Error).message }),
  );
});
