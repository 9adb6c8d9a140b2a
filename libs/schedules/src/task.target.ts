import { newId, type ErrorDetail } from '@baton/core';
import {
  planTask,
  type CreateTaskInput,
  type HandlerRegistry,
  type TaskDefaults,
  type TaskService,
} from '@baton/tasks';
import type { TargetState } from './schedule.store';
import { problemsOf, type Dispatch, type ScheduleTarget } from './schedule.targets';

/** Runs of a schedule whose target is a task: each run creates a task through TaskService, as POST /v1/tasks does. */
export class TaskTarget implements ScheduleTarget {
  readonly type = 'task' as const;

  constructor(
    private readonly tasks: Pick<TaskService, 'create' | 'cancel'>,
    private readonly rules: { handlers: HandlerRegistry; defaults: TaskDefaults },
    private readonly readStates: (ids: string[]) => Promise<Map<string, TargetState>>,
  ) {}

  validate(body: Record<string, unknown>, tenantId: string): ErrorDetail[] {
    return problemsOf(() =>
      planTask(body as unknown as CreateTaskInput, {
        id: newId('task'),
        tenantId,
        requestId: null,
        now: new Date(),
        ...this.rules,
      }),
    );
  }

  newId(): string {
    return newId('task');
  }

  async dispatch({ id, run, schedule, body }: Dispatch): Promise<void> {
    const input = { ...body, priority: (body.priority as number | undefined) ?? schedule.priority };
    await this.tasks.create(run.tenantId, input as unknown as CreateTaskInput, { id, requestId: run.id });
  }

  states(ids: string[]): Promise<Map<string, TargetState>> {
    return this.readStates(ids);
  }

  async cancel(id: string, tenantId: string): Promise<void> {
    await this.tasks.cancel(id, tenantId);
  }
}
