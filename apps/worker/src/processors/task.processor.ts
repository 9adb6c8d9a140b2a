import { Inject, Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import type { JobPayloads } from '@baton/contracts';
import { JobHandler } from '@baton/queue';
import type { Runtime } from '@baton/runtime';
import { TaskRunner } from '@baton/tasks';
import { RUNTIME } from '../tokens';

@Injectable()
export class TaskProcessor {
  readonly runner: TaskRunner;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.runner = new TaskRunner(runtime.stores.tasks, runtime.handlers, runtime.log, runtime.config.TASK_HEARTBEAT_MS);
  }

  @JobHandler('task.run')
  run(job: Job<JobPayloads['task.run']>, token?: string): Promise<unknown> {
    return this.runner.process(job, token);
  }
}
