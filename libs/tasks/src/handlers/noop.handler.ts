import type { TaskHandler } from '../task-handler';

/** Does nothing and succeeds: for smoke tests, benchmarks and measuring the platform's own overhead. */
export const noopHandler: TaskHandler = {
  name: 'noop',
  validate: () => [],
  run: () => Promise.resolve({ ok: true }),
};
