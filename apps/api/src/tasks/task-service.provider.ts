import { Inject, Injectable } from '@nestjs/common';
import type { Runtime } from '@baton/runtime';
import type { TaskService } from '@baton/tasks';
import { RUNTIME } from '../common/tokens';

/** The task use cases, built once from the runtime, for every controller that needs them. */
@Injectable()
export class TaskServiceProvider {
  readonly service: TaskService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.service = runtime.tasks;
  }
}
