import type { InferenceSession } from 'onnxruntime-node';
import type { Logger } from '@baton/observability';

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

/**
 * ONNX Runtime sessions, created once per file and kept (warm). With `wantCuda` the CUDA execution provider is tried
 * first; if it does not load (no GPU, no CUDA libraries), CPU is used and the fallback is logged once.
 */
export class OnnxSessions implements SessionRunner {
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  private current: Device;

  private constructor(
    private readonly ort: typeof import('onnxruntime-node'),
    wantCuda: boolean,
    private readonly log: Logger,
  ) {
    this.current = wantCuda ? 'cuda' : 'cpu';
  }

  static async open(wantCuda: boolean, log: Logger): Promise<OnnxSessions> {
    return new OnnxSessions(await import('onnxruntime-node'), wantCuda, log);
  }

  get device(): Device {
    return this.current;
  }

  async warm(file: string): Promise<void> {
    await this.session(file);
  }

  async run(file: string, batch: BatchTensor): Promise<BatchTensor> {
    const session = await this.session(file);
    const input = new this.ort.Tensor('float32', batch.data, [...batch.dims]);
    const outputs = await session.run({ [session.inputNames[0]]: input });
    const out = outputs[session.outputNames[0]];
    return { dims: out.dims, data: out.data as Float32Array };
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s.catch(() => null))?.release();
  }

  private session(file: string): Promise<InferenceSession> {
    let session = this.sessions.get(file);
    if (!session) {
      session = this.create(file);
      session.catch(() => this.sessions.delete(file));
      this.sessions.set(file, session);
    }
    return session;
  }

  private async create(file: string): Promise<InferenceSession> {
    if (this.current === 'cuda') {
      try {
        const session = await this.ort.InferenceSession.create(file, { executionProviders: ['cuda'] });
        this.log.info({ file, device: 'cuda' }, 'inference session loaded');
        return session;
      } catch (error) {
        this.current = 'cpu';
        this.log.warn({ file, err: error }, 'CUDA execution provider did not load; inference runs on CPU');
      }
    }
    const session = await this.ort.InferenceSession.create(file, { executionProviders: ['cpu'] });
    this.log.info({ file, device: 'cpu' }, 'inference session loaded');
    return session;
  }
}
