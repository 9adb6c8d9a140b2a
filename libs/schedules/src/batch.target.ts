import { parseBatchRequest, type BatchRecord, type BatchService } from '@baton/batches';
import { endedPercent, newId, type ErrorDetail } from '@baton/core';
import type { TargetState } from './schedule.store';
import { problemsOf, type Dispatch, type ScheduleTarget } from './schedule.targets';

/** What a schedule run reads of the batches it started. */
export interface BatchReader {
  findMany(ids: string[]): Promise<BatchRecord[]>;
}

/** Runs of a schedule whose target is a batch: each run creates a batch through BatchService, as POST /v1/batches does. */
export class BatchTarget implements ScheduleTarget {
  readonly type = 'batch' as const;

  constructor(
    private readonly batches: Pick<BatchService, 'create' | 'cancel'>,
    private readonly reader: BatchReader,
  ) {}

  validate(body: Record<string, unknown>): ErrorDetail[] {
    return problemsOf(() => parseBatchRequest(body));
  }

  newId(): string {
    return newId('batch');
  }

  async dispatch({ id, run, schedule, body }: Dispatch): Promise<void> {
    const input = { ...body, priority: (body.priority as number | undefined) ?? schedule.priority };
    await this.batches.create(run.tenantId, input, { id, requestId: run.id });
  }

  async states(ids: string[]): Promise<Map<string, TargetState>> {
    const found = await this.reader.findMany(ids);
    return new Map(
      found.map((b) => [
        b.id,
        {
          status: b.status,
          startedAt: b.startedAt,
          finishedAt: b.finishedAt,
          progress: endedPercent(b.counts),
          error:
            b.status === 'failed'
              ? { code: b.outcome ?? 'failed', message: `${b.counts.failed} of ${b.counts.total} jobs failed` }
              : null,
        },
      ]),
    );
  }

  async cancel(id: string, tenantId: string): Promise<void> {
    await this.batches.cancel(id, tenantId);
  }
}
