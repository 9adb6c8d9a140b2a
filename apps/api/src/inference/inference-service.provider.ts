import { Inject, Injectable } from '@nestjs/common';
import type { InferenceService } from '@baton/inference';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../common/tokens';

/** The inference use cases, built once by the runtime (schedules start inference jobs through the same service). */
@Injectable()
export class InferenceServiceProvider {
  readonly service: InferenceService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.service = runtime.inference;
  }
}
