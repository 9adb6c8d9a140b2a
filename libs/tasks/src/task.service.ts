import { decodeCursor, notFound, parseLimit, toPage, withTimeout, type Page } from '@baton/core';
import type { Logger } from '@baton/observability';
import type { TaskQueue } from './task.queue';
import { planTask, type HandlerRegistry, type TaskDefaults } from './task.rules';
import type { TaskLogLine, TaskStore } from './task.store';
import { toTaskView, type CreateTaskInput, type TaskView } from './task.types';

/** Past this, the request answers anyway: the task is stored, and the reconciler enqueues it. */
const ENQUEUE_TIMEOUT_MS = 2_000;

export interface CancelSignal {
  publish(taskId: string): Promise<void>;
}

/** The task use cases the API calls. `tenantId` null means an admin acting across tenants. */
export class TaskService {
  constructor(
    private readonly store: TaskStore,
    private readonly queue: TaskQueue,
    private readonly cancels: CancelSignal,
    private readonly handlers: HandlerRegistry,
    private readonly defaults: TaskDefaults,
    private readonly log: Logger,
  ) {}

  /**
   * Stores the task, then enqueues it. Postgres first: if enqueueing fails (Redis away, a crash), the task is still
   * accepted and the reconciler enqueues it later.
   */
  async create(
    tenantId: string,
    input: CreateTaskInput,
    ids: { id: string; requestId: string | null },
  ): Promise<TaskView> {
    const planned = planTask(input, {
      id: ids.id,
      requestId: ids.requestId,
      tenantId,
      now: new Date(),
      defaults: this.defaults,
      handlers: this.handlers,
    });
    const { task, created } = await this.store.create(planned);
    if (created || task.status === 'queued') {
      try {
        await withTimeout(this.queue.enqueueOne(task), ENQUEUE_TIMEOUT_MS, 'enqueue');
      } catch (error) {
        this.log.warn(
          { taskId: task.id, tenantId, err: error },
          'task stored but not enqueued; the reconciler will enqueue it',
        );
      }
    }
    return toTaskView(task);
  }

  async get(id: string, tenantId: string | null): Promise<TaskView> {
    const task = await this.store.find(id, tenantId);
    if (!task) throw notFound('task');
    return toTaskView(task);
  }

  async logs(
    id: string,
    tenantId: string | null,
    query: { limit?: unknown; cursor?: string },
  ): Promise<Page<TaskLogLine>> {
    const limit = parseLimit(query.limit);
    const after = decodeCursor(query.cursor);
    if (!(await this.store.find(id, tenantId))) throw notFound('task');
    const rows = await this.store.logs(id, after, limit + 1);
    return toPage(rows, limit, (row) => row.id);
  }

  /**
   * Runs a failed task again (a dead-letter replay): a new generation with a fresh attempt budget, so it may complete
   * (and announce its completion) once more. Null when the task is not failed.
   */
  async replay(id: string): Promise<TaskView | null> {
    const task = await this.store.reopen(id);
    if (!task) return null;
    await this.queue
      .requeue(task)
      .catch((error: unknown) =>
        this.log.warn(
          { taskId: id, err: error },
          'replayed task stored but not enqueued; the reconciler will enqueue it',
        ),
      );
    return toTaskView(task);
  }

  /** Cancelling a finished task changes nothing and is not an error: the answer shows its final state. */
  async cancel(id: string, tenantId: string | null): Promise<TaskView> {
    const task = await this.store.cancel(id, tenantId);
    if (!task) throw notFound('task');
    if (task.status === 'cancelled') {
      await withTimeout(
        Promise.all([this.queue.remove(id), this.cancels.publish(id)]),
        ENQUEUE_TIMEOUT_MS,
        'cancel',
      ).catch((error: unknown) =>
        this.log.warn(
          { taskId: id, err: error },
          'cancel signal not delivered; the worker drops the job when it starts',
        ),
      );
    }
    return toTaskView(task);
  }
}
