import type { Counts, Outcome, WorkStatus } from '@baton/core';
import type { ItemError } from './inference.errors';
import type { InferenceInput, InferenceOutput } from './model.types';

/** An inference job as Postgres holds it (no items). */
export interface InferenceJobRecord {
  id: string;
  tenantId: string;
  model: string;
  version: string;
  status: WorkStatus;
  outcome: Outcome | null;
  priority: number;
  notify: unknown;
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  expiresAt: Date;
}

/** A submission after validation, ready to store. */
export interface NewInferenceJob {
  id: string;
  tenantId: string;
  model: string;
  version: string;
  priority: number;
  notify: unknown;
  inputs: InferenceInput[];
  requestId: string | null;
  createdAt: Date;
  expiresAt: Date;
}

/** The job as GET /v1/inference/jobs/:id returns it (API.md): small, served from the summary. */
export interface InferenceJobView {
  id: string;
  status: WorkStatus;
  outcome?: Outcome;
  counts: Counts;
  model: { name: string; version: string };
  priority: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  expiresAt: string;
}

/** One item in results and results.jsonl. */
export interface InferenceResultView {
  index: number;
  status: WorkStatus;
  output?: InferenceOutput;
  error?: ItemError;
}

/** One item of a job as the worker claims it: its input and the pinned model. */
export interface ClaimedItem {
  jobId: string;
  index: number;
  model: string;
  version: string;
  input: InferenceInput;
}

/** A finished item, as the worker writes it. */
export type ItemOutcome =
  | { jobId: string; index: number; status: 'succeeded'; output: InferenceOutput }
  | { jobId: string; index: number; status: 'failed'; error: ItemError };

const iso = (d: Date | null): string | undefined => (d ? d.toISOString() : undefined);

export function toInferenceJobView(j: InferenceJobRecord): InferenceJobView {
  return {
    id: j.id,
    status: j.status,
    outcome: j.outcome ?? undefined,
    counts: {
      total: j.total,
      queued: j.queued,
      running: j.running,
      succeeded: j.succeeded,
      failed: j.failed,
      cancelled: j.cancelled,
    },
    model: { name: j.model, version: j.version },
    priority: j.priority,
    createdAt: j.createdAt.toISOString(),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
    expiresAt: j.expiresAt.toISOString(),
  };
}

/** The completion event of a job is unique per job: a job ends once. */
export const inferenceCompletionKey = (jobId: string): string => `inference.completed:${jobId}`;
