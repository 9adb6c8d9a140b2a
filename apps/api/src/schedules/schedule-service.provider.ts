import { Inject, Injectable } from '@nestjs/common';
import { scheduleTargetsOf, type Runtime } from '@baton/runtime';
import { ScheduleRunner, ScheduleService } from '@baton/schedules';
import { RUNTIME } from '../common/tokens';
import { dtoProblems } from '../common/validation.pipe';
import { CreateTaskDto } from '../tasks/tasks.dto';

/** The schedule use cases, built once from the runtime. A task target's body is checked as POST /v1/tasks checks it. */
@Injectable()
export class ScheduleServiceProvider {
  readonly service: ScheduleService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    const targets = scheduleTargetsOf(runtime, { task: (body) => dtoProblems(CreateTaskDto, body) });
    const { config, log } = runtime;
    const runner = new ScheduleRunner(
      runtime.stores.schedules,
      targets,
      { graceMs: config.SCHEDULE_CATCH_UP_GRACE_MS },
      log,
    );
    this.service = new ScheduleService(
      runtime.stores.schedules,
      runtime.scheduleQueue,
      runner,
      targets,
      { minEveryMs: config.SCHEDULE_MIN_EVERY_MS },
      log,
    );
  }
}
