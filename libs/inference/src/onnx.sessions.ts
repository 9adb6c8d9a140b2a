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

/** One inference thread, the calls it has not answered yet, and whether it has died (it then takes no more). */
interface SessionThread {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

/**
 * ONNX Runtime sessions on their own threads (see onnx.worker.ts), created once per file and kept warm. With
 * `parallel` above 1 there are that many threads, each with its own session of every model, and each batch goes to
 * the thread with the fewest batches in hand: batches then run side by side, each on its own core, instead of one
 * batch's operators being split over the cores (where the whole batch waits for its slowest part). With `wantCuda`
 * the CUDA execution provider is tried first; if it does not load (no GPU, no CUDA libraries), CPU is used and the
 * fallback is logged.
 */
export class OnnxSessions implements SessionRunner {
  private readonly loaded = new Map<string, Promise<void>>();
  private nextId = 1;
  private current: Device;

  private constructor(
    private readonly threads: SessionThread[],
    private readonly wantCuda: boolean,
    private readonly intraOpThreads: number,
    private readonly log: Logger,
  ) {
    this.current = wantCuda ? 'cuda' : 'cpu';
    for (const thread of threads) {
      thread.worker.on('message', (reply: ThreadReply) => {
        const waiting = thread.pending.get(reply.id);
        thread.pending.delete(reply.id);
        if (!waiting) return;
        if (reply.ok) waiting.resolve(reply);
        else waiting.reject(new Error(reply.error));
      });
      // A thread that fails or exits takes no more batches: its calls are rejected (the items are retried by the
      // queue) and the others carry on; with none left, every call is rejected.
      const die = (error: Error) => {
        thread.dead = true;
        for (const p of thread.pending.values()) p.reject(error);
        thread.pending.clear();
      };
      thread.worker.on('error', (error) => {
        this.log.error({ err: error }, 'inference thread failed');
        die(error);
      });
      thread.worker.on('exit', (code) => die(new Error(`inference thread exited (code ${code})`)));
    }
  }

  /**
   * `threads`: intra-op threads per session (0: ONNX Runtime's default, one per core). `parallel`: session threads,
   * each running one batch at a time.
   */
  static open(wantCuda: boolean, log: Logger, threads = 0, parallel = 1): Promise<OnnxSessions> {
    const pool = Array.from({ length: Math.max(1, parallel) }, () => ({
      worker: new Worker(join(__dirname, 'onnx.worker.js')),
      pending: new Map<number, Pending>(),
      dead: false,
    }));
    return Promise.resolve(new OnnxSessions(pool, wantCuda, threads, log));
  }

  get device(): Device {
    return this.current;
  }

  /** Batches that can run at once: one per session thread. */
  get parallel(): number {
    return this.threads.length;
  }

  warm(file: string): Promise<void> {
    let loading = this.loaded.get(file);
    if (!loading) {
      const request = { type: 'load' as const, file, wantCuda: this.wantCuda, threads: this.intraOpThreads };
      loading = Promise.all(this.alive().map((thread) => this.call(thread, request))).then((replies) => {
        const fallback = replies.find((r) => r.fallback)?.fallback;
        if (fallback) {
          this.log.warn({ file, reason: fallback }, 'CUDA execution provider did not load; inference runs on CPU');
        }
        // One session on CPU makes the device CPU: batches may go to any thread.
        this.current = replies.some((r) => r.device === 'cpu') ? 'cpu' : (replies[0].device ?? this.current);
        this.log.info({ file, device: this.current, sessions: this.threads.length }, 'inference session loaded');
      });
      loading.catch(() => this.loaded.delete(file));
      this.loaded.set(file, loading);
    }
    return loading;
  }

  async run(file: string, batch: BatchTensor): Promise<BatchTensor> {
    await this.warm(file);
    const data = batch.data.slice(); // a copy of our own, handed over to the thread without another copy
    const thread = this.alive().reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const reply = await this.call(thread, { type: 'run', file, dims: [...batch.dims], data }, [data.buffer]);
    return { dims: reply.dims!, data: reply.data! };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (thread) => {
        if (!thread.dead) await this.call(thread, { type: 'close' }).catch(() => undefined);
        await thread.worker.terminate();
      }),
    );
  }

  /** The threads that take work; a dead one never comes back, so with none left every call is refused. */
  private alive(): SessionThread[] {
    const alive = this.threads.filter((t) => !t.dead);
    if (alive.length === 0) throw new Error('no inference thread is running');
    return alive;
  }

  private call(
    thread: SessionThread,
    request: Request,
    transfer: ArrayBuffer[] = [],
  ): Promise<ThreadReply & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (thread.dead) return reject(new Error('inference thread is not running'));
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ ...request, id }, transfer);
    });
  }
}
