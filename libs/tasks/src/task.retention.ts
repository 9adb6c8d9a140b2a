import { deleteInChunks } from '@baton/core';
import type { TaskStore } from './task.store';

/** Cut-off of execution history: what ended before it is purged. */
export const retentionCutoff = (now: Date, days: number): Date => new Date(now.getTime() - days * 24 * 3600_000);

/** Deletes finished tasks that ended before `cutoff`, a chunk at a time. */
export const purgeTaskHistory = (store: TaskStore, cutoff: Date): Promise<number> =>
  deleteInChunks((limit) => store.purgeFinished(cutoff, limit));
