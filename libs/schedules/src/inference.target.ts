import { endedPercent, newId, type ErrorDetail } from '@baton/core';
import {
  planSubmission,
  type InferenceJobRecord,
  type InferenceService,
  type ModelRegistry,
  type SubmitInferenceInput,
} from '@baton/inference';
import type { TargetState } from './schedule.store';
import { problemsOf, type Dispatch, type ScheduleTarget } from './schedule.targets';

/**
 * Runs of a schedule whose target is an inference job: each run submits through InferenceService, as
 * POST /v1/inference/jobs does (the model's version is pinned at each run).
 */
export class InferenceTarget implements ScheduleTarget {
  readonly type = 'inference' as const;

  constructor(
    private readonly inference: Pick<InferenceService, 'submit' | 'cancel'>,
    private readonly registry: ModelRegistry,
    private readonly readJobs: (ids: string[]) => Promise<InferenceJobRecord[]>,
  ) {}

  validate(body: Record<string, unknown>): ErrorDetail[] {
    return problemsOf(() => planSubmission(body as unknown as SubmitInferenceInput, this.registry));
  }

  newId(): string {
    return newId('inference');
  }

  async dispatch({ id, run, schedule, body }: Dispatch): Promise<void> {
    const input = { ...body, priority: (body.priority as number | undefined) ?? schedule.priority };
    await this.inference.submit(run.tenantId, input as unknown as SubmitInferenceInput, { id, requestId: run.id });
  }

  async states(ids: string[]): Promise<Map<string, TargetState>> {
    const jobs = await this.readJobs(ids);
    return new Map(
      jobs.map((j) => [
        j.id,
        {
          status: j.status,
          startedAt: j.startedAt,
          finishedAt: j.finishedAt,
          progress: endedPercent(j),
          error:
            j.status === 'failed'
              ? { code: j.outcome ?? 'failed', message: `${j.failed} of ${j.total} items failed` }
              : null,
        },
      ]),
    );
  }

  async cancel(id: string, tenantId: string): Promise<void> {
    await this.inference.cancel(id, tenantId);
  }
}
