import { Inject, Injectable } from '@nestjs/common';
import { BatchService } from '@baton/batches';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../common/tokens';

/** The batch use cases, built once from the runtime. */
@Injectable()
export class BatchServiceProvider {
  readonly service: BatchService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.service = new BatchService(runtime.stores.batches, runtime.batchQueue, runtime.log);
  }
}
