import type { Counts, Outcome, WorkStatus } from '@baton/core';
import type { BatchPolicy, BatchPolicyInput } from './batch.policy';

/** Where a batch's completion is announced (API.md `notify`), as submitted. */
export type NotifyInput = Record<string, unknown>;

/** POST /v1/batches, as received (checked by the service, field by field). */
export interface CreateBatchInput {
  items: unknown;
  name?: string;
  priority?: number;
  policy?: BatchPolicyInput;
  dedupe?: boolean;
  notify?: NotifyInput;
}

export interface NewBatch {
  id: string;
  tenantId: string;
  name: string | null;
  priority: number;
  policy: BatchPolicy;
  dedupe: boolean;
  notify: NotifyInput | null;
  /** One per kept item: its job id, submitted index and params. */
  jobs: { id: string; index: number; params: Record<string, unknown> }[];
}

export interface BatchRecord {
  id: string;
  tenantId: string;
  name: string | null;
  status: WorkStatus;
  outcome: Outcome | null;
  priority: number;
  policy: BatchPolicy;
  dedupe: boolean;
  notify: NotifyInput | null;
  counts: Counts;
  generation: number;
  cancelRequestedAt: Date | null;
  fedAt: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A job's last error, as API.md shows it. */
export interface JobError {
  code: string;
  message: string;
  attempt: number;
  at: string;
}

export interface BatchJobRecord {
  id: string;
  batchId: string;
  tenantId: string;
  index: number;
  params: Record<string, unknown>;
  status: WorkStatus;
  clusterStatus: string | null;
  clusterJobId: string | null;
  attempts: number;
  generation: number;
  cancelRequested: boolean;
  lastError: JobError | null;
  submittedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** What the item step needs of its batch. */
export interface ItemContext {
  job: BatchJobRecord;
  batch: { policy: BatchPolicy; generation: number; cancelRequested: boolean; terminal: boolean };
}

export type FinalItemStatus = 'succeeded' | 'failed' | 'cancelled';

export interface BatchView {
  id: string;
  name: string | null;
  status: WorkStatus;
  outcome?: Outcome;
  counts: Counts;
  priority: number;
  policy: BatchPolicy;
  dedupe: boolean;
  generation: number;
  cancelRequested: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface BatchJobView {
  id: string;
  index: number;
  params: Record<string, unknown>;
  status: WorkStatus;
  clusterJobId?: string;
  attempts: number;
  lastError?: JobError;
  submittedAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

const iso = (d: Date | null): string | undefined => d?.toISOString();

export function toBatchView(b: BatchRecord): BatchView {
  return {
    id: b.id,
    name: b.name,
    status: b.status,
    ...(b.outcome ? { outcome: b.outcome } : {}),
    counts: b.counts,
    priority: b.priority,
    policy: b.policy,
    dedupe: b.dedupe,
    generation: b.generation,
    cancelRequested: b.cancelRequestedAt !== null,
    createdAt: b.createdAt.toISOString(),
    startedAt: iso(b.startedAt),
    finishedAt: iso(b.finishedAt),
  };
}

export function toBatchJobView(j: BatchJobRecord): BatchJobView {
  return {
    id: j.id,
    index: j.index,
    params: j.params,
    status: j.status,
    ...(j.clusterJobId ? { clusterJobId: j.clusterJobId } : {}),
    attempts: j.attempts,
    ...(j.lastError ? { lastError: j.lastError } : {}),
    submittedAt: iso(j.submittedAt),
    startedAt: iso(j.startedAt),
    finishedAt: iso(j.finishedAt),
  };
}

/** The completion event of one generation of a batch: one per generation, whatever runs the roll-up twice. */
export const batchCompletionKey = (b: Pick<BatchRecord, 'id' | 'generation'>): string =>
  `batch.completed:${b.id}:${b.generation}`;

/** Queue job ids (no `:` in them: BullMQ parses parent keys by their last segment). */
export const batchParentJobId = (batchId: string, generation: number): string => `${batchId}-g${generation}`;
export const batchItemJobId = (batchJobId: string, generation: number): string => `${batchJobId}-g${generation}`;
export const batchFeedJobId = (batchId: string, generation: number): string => `feed-${batchId}-g${generation}`;
export const batchSealJobId = (batchId: string, generation: number): string => `seal-${batchId}-g${generation}`;
