import type { TaskStore } from './task.store';

const CHUNK = 5_000;

/** Cut-off of execution history: what ended before it is purged. */
export const retentionCutoff = (now: Date, days: number): Date => new Date(now.getTime() - days * 24 * 3600_000);

/** Deletes finished tasks that ended before `cutoff`, a chunk at a time so no statement holds locks for long. */
export async function purgeTaskHistory(store: TaskStore, cutoff: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await store.purgeFinished(cutoff, CHUNK);
    total += deleted;
    if (deleted < CHUNK) return total;
  }
}
