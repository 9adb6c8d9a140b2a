import { Inject, Injectable } from '@nestjs/common';
import { InferenceQueue, InferenceService, InferenceSummaries, ModelRegistry } from '@baton/inference';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../common/tokens';

/** The inference use cases, built once from the runtime; a bad models file stops the API at boot. */
@Injectable()
export class InferenceServiceProvider {
  readonly service: InferenceService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    const { config } = runtime;
    this.service = new InferenceService(
      runtime.stores.inference,
      new InferenceQueue(runtime.producer, { attempts: config.INFERENCE_MAX_ATTEMPTS, backoffMs: 500 }),
      new InferenceSummaries(runtime.redis, config.QUEUE_PREFIX),
      new ModelRegistry(config.INFERENCE_MODELS_FILE),
      { resultTtlMs: config.RESULT_TTL },
      runtime.log,
    );
  }
}
