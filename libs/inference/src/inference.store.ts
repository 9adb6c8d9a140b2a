import type {
  ClaimedItem,
  InferenceJobRecord,
  InferenceResultView,
  ItemOutcome,
  NewInferenceJob,
} from './inference.types';

/** What inference needs from the system of record. Item writes are keyed by (job, index) and conditional: idempotent. */
export interface InferenceStore {
  /** Stores the job, its items and their inputs (as blobs) in one transaction; an existing id is returned instead. */
  create(job: NewInferenceJob): Promise<{ job: InferenceJobRecord; created: boolean }>;
  /** `tenantId` null: any tenant (admin). */
  find(id: string, tenantId: string | null): Promise<InferenceJobRecord | null>;
  /** Items in index order after `afterIndex`, optionally only those of one status. */
  results(
    jobId: string,
    filter: { status?: 'succeeded' | 'failed'; afterIndex: number; limit: number },
  ): Promise<InferenceResultView[]>;
  /** queued|running → cancelled, items included, with the completion event. The job after, or null when unknown. */
  cancel(id: string, tenantId: string | null): Promise<InferenceJobRecord | null>;
  /**
   * The item with its input and pinned model, if it is still to run; null when it has ended (a repeat delivery) or
   * its job is gone. `started` is the job when this claim moved it from queued to running.
   */
  claim(jobId: string, index: number): Promise<{ item: ClaimedItem; started: InferenceJobRecord | null } | null>;
  /**
   * Records an item's outcome if it has not ended yet, updating the job's counters in the same statement, and when it
   * was the last item, the job's final state and its completion event. Returns the job when it changed.
   */
  complete(outcome: ItemOutcome): Promise<InferenceJobRecord | null>;
  /** Indexes of a job's items still queued or running (for re-enqueueing). */
  pendingItems(jobId: string): Promise<number[]>;
  /** Non-terminal jobs created before `cutoff`, after `afterId` in id order: the reconciler's scan. */
  pendingJobs(cutoff: Date, afterId: string | undefined, limit: number): Promise<InferenceJobRecord[]>;
  /** Deletes items and inputs of jobs whose results expired before `now`; returns how many items went. */
  purgeExpired(now: Date, limit: number): Promise<number>;
}
