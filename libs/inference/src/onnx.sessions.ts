import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@baton/observability';
import type { ThreadReply, ThreadRequest } from './onnx.worker';

export type Device = 'cuda' | 'cpu';

/** A batch in, the first output out. */
export interface BatchTensor {
  dims: readonly number[];
  data: Float32Array;
}

/** The runtime behind the micro-batcher: one warm session per model file. */
export interface SessionRunner {
  readonly device: Device;
  warm(file: string): Promise<void>;
  run(file: string, batch: BatchTensor): Promise<BatchTensor>;
  close(): Promise<void>;
}

type Pending = { resolve: (reply: ThreadReply & { ok: true }) => void; reject: (error: Error) => void };
type Request = ThreadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * ONNX Runtime sessions on their own thread (see onnx.worker.ts), created once per file and kept warm. With
 * `wantCuda` the CUDA execution provider is tried first; if it does not load (no GPU, no CUDA libraries), CPU is
 * used and the fallback is logged.
 */
export class OnnxSessions implements SessionRunner {
  private readonly pending = new Map<number, Pending>();
  private readonly loaded = new Map<string, Promise<void>>();
  private nextId = 1;
  private current: Device;

  private constructor(
    private readonly thread: Worker,
    private readonly wantCuda: boolean,
    private readonly threads: number,
    private readonly log: Logger,
  ) {
    this.current = wantCuda ? 'cuda' : 'cpu';
    thread.on('message', (reply: ThreadReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!waiting) return;
      if (reply.ok) waiting.resolve(reply);
      else waiting.reject(new Error(reply.error));
    });
    thread.on('error', (error) => {
      this.log.error({ err: error }, 'inference thread failed');
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    });
  }

  /** `threads`: intra-op threads per session (0: ONNX Runtime's default, one per core). */
  static open(wantCuda: boolean, log: Logger, threads = 0): Promise<OnnxSessions> {
    return Promise.resolve(new OnnxSessions(new Worker(join(__dirname, 'onnx.worker.js')), wantCuda, threads, log));
  }

  get device(): Device {
    return this.current;
  }

  warm(file: string): Promise<void> {
    let loading = this.loaded.get(file);
    if (!loading) {
      loading = this.call({ type: 'load', file, wantCuda: this.wantCuda, threads: this.threads }).then((reply) => {
        if (reply.fallback) {
          this.log.warn(
            { file, reason: reply.fallback },
            'CUDA execution provider did not load; inference runs on CPU',
          );
        }
        this.current = reply.device ?? this.current;
        this.log.info({ file, device: this.current }, 'inference session loaded');
      });
      loading.catch(() => this.loaded.delete(file));
      this.loaded.set(file, loading);
    }
    return loading;
  }

  async run(file: string, batch: BatchTensor): Promise<BatchTensor> {
    await this.warm(file);
    const data = batch.data.slice(); // a copy of our own, handed over to the thread without another copy
    const reply = await this.call({ type: 'run', file, dims: [...batch.dims], data }, [data.buffer]);
    return { dims: reply.dims!, data: reply.data! };
  }

  async close(): Promise<void> {
    await this.call({ type: 'close' }).catch(() => undefined);
    await this.thread.terminate();
  }

  private call(request: Request, transfer: ArrayBuffer[] = []): Promise<ThreadReply & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.thread.postMessage({ ...request, id }, transfer);
    });
  }
}
