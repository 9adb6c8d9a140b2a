import { decodeCursor, notFound, parseLimit, toPage, withTimeout, type Page } from '@baton/core';
import type { Logger } from '@baton/observability';
import type { TaskQueue } from './task.queue';
import { planTask, type HandlerRegistry, type TaskDefaults } from './task.rules';
import type { TaskLogLine, TaskStore } from './task.store';
import { toTaskView, type CreateTaskInput, type TaskRecord, type TaskView } from './task.types';

/** How long a cancel waits for its signal to go out, and shutdown for the enqueues still under way. */
const ENQUEUE_TIMEOUT_MS = 2_000;

export interface CancelSignal {
  publish(taskId: string): Promise<void>;
}

/** The task use cases the API calls. `tenantId` null means an admin acting across tenants. */
export class TaskService {
  /** Enqueues of committed tasks still under way: shutdown waits for them (settle). */
  private readonly enqueuing = new Set<Promise<void>>();

  constructor(
    private readonly store: TaskStore,
    private readonly queue: TaskQueue,
    private readonly cancels: CancelSignal,
    private readonly handlers: HandlerRegistry,
    private readonly defaults: TaskDefaults,
    private readonly log: Logger,
  ) {}

  /**
   * Stores the task, then enqueues it. The answer waits for the commit only: once Postgres holds the task it is
   * accepted, and its enqueue goes on after the answer. If that fails (Redis away, a crash), the reconciler enqueues it
   * later. Measured in `npm run bench`: the client's wait for the enqueue's round trip bounded the rate of 32 clients.
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
    if (created || task.status === 'queued') this.enqueueCommitted(task);
    return toTaskView(task);
  }

  /** Waits (at most `capMs`) for the enqueues still under way: at shutdown, after the last request is answered. */
  async settle(capMs = ENQUEUE_TIMEOUT_MS): Promise<void> {
    if (this.enqueuing.size === 0) return;
    await withTimeout(Promise.all(this.enqueuing), capMs, 'enqueue').catch(() => undefined);
  }

  private enqueueCommitted(task: TaskRecord): void {
    const enqueued = this.queue
      .enqueueOne(task)
      .catch((error: unknown) =>
        this.log.warn(
          { taskId: task.id, tenantId: task.tenantId, err: error },
          'task stored but not enqueued; the reconciler will enqueue it',
        ),
      )
      .finally(() => this.enqueuing.delete(enqueued));
    this.enqueuing.add(enqueued);
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
