import { AsyncLocalStorage } from 'node:async_hooks';

/** Ids that follow a unit of work through a request and the jobs it causes, for logs and traces. */
export interface WorkContext {
  requestId?: string;
  tenantId?: string;
  jobId?: string;
}

const storage = new AsyncLocalStorage<WorkContext>();

export const runWithContext = <T>(ctx: WorkContext, fn: () => T): T => storage.run(ctx, fn);
export const currentContext = (): WorkContext => storage.getStore() ?? {};
