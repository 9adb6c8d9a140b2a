import type { BatchJobRecord, BatchRecord, FinalItemStatus, ItemContext, JobError, NewBatch } from './batch.types';

/** A batch whose roll-up ran: the record after it, and whether this call wrote the outcome (and its event). */
export interface RollupResult {
  batch: BatchRecord;
  completed: boolean;
}

/**
 * Postgres, as batches use it. Every transition is a conditional write that moves the batch's counters in the same
 * statement, so the counters always add up and a transition applied twice counts once.
 */
export interface BatchStore {
  /** The batch and all its jobs in one transaction; an existing id (an idempotent retry) returns the stored batch. */
  create(batch: NewBatch): Promise<{ batch: BatchRecord; created: boolean }>;
  find(id: string, tenantId: string | null): Promise<BatchRecord | null>;
  jobs(batchId: string, status: string | undefined, afterIndex: number, limit: number): Promise<BatchJobRecord[]>;
  findJob(batchId: string, jobId: string): Promise<BatchJobRecord | null>;

  /** Open (queued or running) jobs of a generation in index order, after `afterIndex`: what the feeder puts into Redis. */
  feedPage(
    batchId: string,
    generation: number,
    afterIndex: number,
    limit: number,
  ): Promise<{ id: string; index: number }[]>;
  markFed(batchId: string, generation: number): Promise<void>;

  /** The job and what the step needs of its batch; null if gone. */
  loadItem(jobId: string): Promise<ItemContext | null>;
  /** A run started on the cluster: the job is running with this attempt and cluster id. */
  markSubmitted(jobId: string, attempt: number, clusterJobId: string, at: Date): Promise<void>;
  /** The cluster first reported RUNNING. */
  markClusterRunning(jobId: string, at: Date): Promise<void>;
  /** A run failed and another follows: the job keeps running, without a cluster id until the next submit. */
  markRunFailed(jobId: string, error: JobError): Promise<void>;
  /** Ends a job (from queued or running); false if it had already ended. */
  finish(jobId: string, status: FinalItemStatus, error: JobError | null): Promise<boolean>;

  /**
   * Asks a batch to stop: queued jobs end cancelled at once; running ones see the flag at their next step. Returns
   * the ids of the running jobs (to wake them), or null when the batch does not exist for this tenant.
   */
  requestCancel(batchId: string, tenantId: string | null): Promise<{ batch: BatchRecord; running: string[] } | null>;
  /** One job: a queued one ends cancelled now; a running one is flagged. */
  requestJobCancel(batchId: string, jobId: string, tenantId: string | null): Promise<BatchJobRecord | null>;
  /** retry-failed: a finished batch with failed jobs gets a new generation with those jobs queued again. */
  reopenFailed(batchId: string, tenantId: string | null): Promise<BatchRecord | null>;

  /**
   * Writes the outcome of a generation once every job ended (jobs still open are failed as lost), with its
   * `batch.completed` event, in one transaction. Running it again changes nothing.
   */
  rollup(batchId: string, generation: number): Promise<RollupResult | null>;

  /** For callbacks: the job a cluster id belongs to, if it still waits on the cluster. */
  findByClusterJobId(clusterJobId: string): Promise<{ id: string; generation: number } | null>;
  /** Open (not terminal) batches created before `before`, by id after `afterId`: for the reconciler. */
  open(before: Date, afterId: string | undefined, limit: number): Promise<BatchRecord[]>;
}
