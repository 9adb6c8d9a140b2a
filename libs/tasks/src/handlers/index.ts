import type { TaskHandler } from '../task-handler';
import type { HandlerRegistry } from '../task.rules';
import { httpHandler, type HttpHandlerOptions } from './http.handler';
import { noopHandler } from './noop.handler';
import { sleepHandler } from './sleep.handler';

/** The built-in handlers, by name. */
export function builtInHandlers(options: HttpHandlerOptions): HandlerRegistry {
  const list: TaskHandler<any>[] = [noopHandler, sleepHandler, httpHandler(options)]; // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Map(list.map((h) => [h.name, h as TaskHandler]));
}

export { httpHandler, isRetryableStatus } from './http.handler';
