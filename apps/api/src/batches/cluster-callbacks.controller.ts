import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CLUSTER_SIGNATURE_HEADER, isClusterJobStatus, verifyClusterCallback } from '@baton/cluster';
import { BatonError, validationFailed } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import { Public } from '../common/access.decorators';
import type { BatonRequest } from '../common/request';
import { RUNTIME } from '../common/tokens';

/**
 * Completion callbacks from the cluster. They only wake the item's step, which then checks the status itself:
 * a callback short-cuts the wait, polling stays the safety net, and a forged or replayed callback changes nothing.
 */
@ApiTags('cluster')
@Controller('v1/cluster/callbacks')
export class ClusterCallbacksController {
  constructor(@Inject(RUNTIME) private readonly runtime: Runtime) {}

  @Post()
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'For the cluster: {jobUuid, status}, signed with X-Cluster-Signature' })
  async receive(@Req() req: BatonRequest & { rawBody?: Buffer }): Promise<{ accepted: boolean }> {
    const secret = this.runtime.config.CLUSTER_CALLBACK_SECRET;
    const signature = req.headers[CLUSTER_SIGNATURE_HEADER];
    if (
      !secret ||
      !req.rawBody ||
      !verifyClusterCallback(req.rawBody, typeof signature === 'string' ? signature : undefined, secret)
    ) {
      throw new BatonError('unauthenticated', 'missing or bad X-Cluster-Signature');
    }
    const body = req.body as { jobUuid?: unknown; status?: unknown } | null;
    if (typeof body?.jobUuid !== 'string' || !isClusterJobStatus(body.status)) {
      throw validationFailed([
        { field: 'jobUuid', message: 'must be {"jobUuid": string, "status": a cluster status}' },
      ]);
    }
    await this.runtime.batchQueue.noteCallback(body.jobUuid);
    const job = await this.runtime.stores.batches.findByClusterJobId(body.jobUuid);
    if (job) await this.runtime.batchQueue.wake([job]);
    return { accepted: job !== null };
  }
}
