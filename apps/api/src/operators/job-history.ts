import { ID_PREFIX } from '@baton/core';
import type { BatchJobHistoryRow, InferenceJobHistoryRow } from '@baton/db';
import type { Runtime } from '@baton/runtime';
import type { TaskRecord } from '@baton/tasks';
import type { JOB_KINDS, JobDto } from './operators.dto';

type JobKind = (typeof JOB_KINDS)[number];

export interface HistoryFilter {
  status?: string;
  tenantId?: string;
}

/** Where one kind's execution history lives: its id prefix, and a newest-first page read from its own index. */
export interface HistorySource {
  prefix: string;
  list(filter: HistoryFilter, beforeId: string | undefined, limit: number): Promise<JobDto[]>;
}

const iso = (d: Date | null): string | undefined => d?.toISOString();

const taskAsJob = (t: TaskRecord): JobDto => ({
  id: t.id,
  kind: 'task',
  tenantId: t.tenantId,
  status: t.status,
  name: t.handler,
  attempts: t.attempts,
  createdAt: t.createdAt.toISOString(),
  startedAt: iso(t.startedAt),
  finishedAt: iso(t.finishedAt),
  lastError: t.lastError ?? undefined,
});

const batchJobAsJob = (j: BatchJobHistoryRow): JobDto => ({
  id: j.id,
  kind: 'batch_job',
  tenantId: j.tenantId,
  status: j.status,
  name: j.batchName ?? j.batchId,
  batchId: j.batchId,
  index: j.index,
  attempts: j.attempts,
  createdAt: j.createdAt.toISOString(),
  startedAt: iso(j.startedAt),
  finishedAt: iso(j.finishedAt),
  lastError: j.lastError ?? undefined,
});

const inferenceJobAsJob = (j: InferenceJobHistoryRow): JobDto => ({
  id: j.id,
  kind: 'inference_job',
  tenantId: j.tenantId,
  status: j.status,
  name: `${j.model}@${j.version} (${j.total} items)`,
  attempts: 1,
  createdAt: j.createdAt.toISOString(),
  startedAt: iso(j.startedAt),
  finishedAt: iso(j.finishedAt),
});

/** Every kind /v1/jobs lists. */
export function historySources(runtime: Runtime): Record<JobKind, HistorySource> {
  return {
    task: {
      prefix: ID_PREFIX.task,
      list: async (filter, beforeId, limit) =>
        (await runtime.stores.tasks.history(filter, beforeId, limit)).map(taskAsJob),
    },
    batch_job: {
      prefix: ID_PREFIX.batchJob,
      list: async (filter, beforeId, limit) =>
        (await runtime.stores.jobHistory.batchJobs(filter, beforeId, limit)).map(batchJobAsJob),
    },
    inference_job: {
      prefix: ID_PREFIX.inference,
      list: async (filter, beforeId, limit) =>
        (await runtime.stores.jobHistory.inferenceJobs(filter, beforeId, limit)).map(inferenceJobAsJob),
    },
  };
}
