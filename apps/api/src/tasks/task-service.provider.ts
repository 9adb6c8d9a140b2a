import { Inject, Injectable } from '@nestjs/common';
import type { Runtime } from '@baton/runtime';
import { TaskService } from '@baton/tasks';
import { RUNTIME } from '../common/tokens';

/** The task use cases, built once from the runtime, for every controller that needs them. */
@Injectable()
export class TaskServiceProvider {
  readonly service: TaskService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.service = new TaskService(
      runtime.stores.tasks,
      runtime.taskQueue,
      { publish: async (id) => void (await runtime.redis.publish(runtime.cancelChannel, id)) },
      runtime.handlers,
      { maxAttempts: runtime.config.TASK_DEFAULT_MAX_ATTEMPTS },
      runtime.log,
    );
  }
}
