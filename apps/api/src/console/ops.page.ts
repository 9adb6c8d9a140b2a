import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ALL_QUEUES } from '@baton/contracts';
import type { TenantShare } from '@baton/fairness';
import type { QueueStats } from '@baton/queue';
import { describeQueueOf } from '@baton/runtime';
import { html, type ConsoleDeps } from './console.http';
import { consolePage, table, type Column } from './console.pages';

const MINUTE = 60_000;
const PENDING_OLDER_THAN_MS = MINUTE;
const RETRY_WINDOW_MS = 60 * MINUTE;
const DEAD_LETTER_WINDOW_MS = 24 * 60 * MINUTE;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** GET /admin: the operator views (REQUIREMENTS §4) in one page, the same answers as /v1/queues and /v1/ops/*. */
export function registerOpsPage(scope: FastifyInstance, deps: ConsoleDeps): void {
  const { runtime } = deps;
  const render = async (req: FastifyRequest): Promise<string> => {
    const now = Date.now();
    const [queues, pending, retries, deadLetters] = await Promise.all([
      Promise.all(ALL_QUEUES.map((name) => describeQueueOf(runtime, name, now))),
      runtime.stores.ops.pendingTooLong(PENDING_OLDER_THAN_MS),
      runtime.stores.ops.retriesPerSuccess(RETRY_WINDOW_MS),
      runtime.stores.ops.deadLettersByKind(DEAD_LETTER_WINDOW_MS),
    ]);
    const queueColumns: Column<QueueStats>[] = [
      { title: 'queue', value: (q) => q.name },
      { title: 'waiting', value: (q) => q.waiting, numeric: true },
      { title: 'active', value: (q) => q.active, numeric: true },
      { title: 'delayed', value: (q) => q.delayed, numeric: true },
      { title: 'failed', value: (q) => q.failed, numeric: true },
      { title: 'oldest waiting', value: (q) => seconds(q.oldestWaitingMs), numeric: true },
      { title: 'done/s', value: (q) => q.completedPerSecond.toFixed(2), numeric: true },
      { title: 'failed/s', value: (q) => q.failedPerSecond.toFixed(2), numeric: true },
      { title: 'state', value: (q) => (q.paused ? 'paused' : 'running') },
    ];
    const sections = [
      {
        heading: 'Queues',
        note: 'Depth by state, oldest waiting job, throughput over five minutes.',
        html: table('queues', queues, queueColumns, 'No queues.'),
      },
      {
        heading: 'Tenants on fair-shared queues',
        note: 'Per tenant: jobs waiting for admission, admitted and unfinished, finished per second over the last minute.',
        html: table(
          'tenants',
          queues.flatMap((q) => (q.tenants ?? []).map((t) => ({ queue: q.name, ...t }))),
          [
            { title: 'queue', value: (r: TenantShare & { queue: string }) => r.queue },
            { title: 'tenant', value: (r) => r.tenantId },
            { title: 'waiting', value: (r) => r.waiting, numeric: true },
            { title: 'in flight', value: (r) => r.inFlight, numeric: true },
            { title: 'oldest waiting', value: (r) => seconds(r.headWaitingMs), numeric: true },
            { title: 'done/s', value: (r) => r.perSecond.toFixed(2), numeric: true },
          ],
          'No tenant has work on a fair-shared queue.',
        ),
      },
      {
        heading: 'Pending too long',
        note: `Due work waiting more than ${seconds(PENDING_OLDER_THAN_MS)}, per handler (GET /v1/ops/pending).`,
        html: table(
          'pending',
          pending,
          [
            { title: 'handler', value: (r) => r.handler },
            { title: 'waiting', value: (r) => r.waiting, numeric: true },
            { title: 'oldest waiting', value: (r) => seconds(r.oldestWaitingMs), numeric: true },
          ],
          'Nothing is waiting too long.',
        ),
      },
      {
        heading: 'Retries per success',
        note: 'Attempts beyond the first per success over the last hour, per handler (GET /v1/ops/retries).',
        html: table(
          'retries',
          retries,
          [
            { title: 'handler', value: (r) => r.handler },
            { title: 'succeeded', value: (r) => r.succeeded, numeric: true },
            { title: 'failed', value: (r) => r.failed, numeric: true },
            { title: 'attempts', value: (r) => r.attempts, numeric: true },
            {
              title: 'retries per success',
              value: (r) => (r.retriesPerSuccess === null ? '–' : r.retriesPerSuccess.toFixed(2)),
              numeric: true,
            },
          ],
          'Nothing finished in the last hour.',
        ),
      },
      {
        heading: 'Dead letters',
        note: 'Work that failed for good in the last 24 hours, per kind (GET /v1/ops/dead-letters).',
        html: table(
          'dead-letters',
          deadLetters,
          [
            { title: 'kind', value: (r) => r.kind },
            { title: 'count', value: (r) => r.count, numeric: true },
          ],
          'No dead letters.',
        ),
      },
    ];
    return consolePage('Operator views', sections, req.consoleSession!);
  };
  scope.get('/admin', async (req, reply) => html(reply, await render(req)));
  scope.get('/admin/', (_req, reply) => reply.status(308).header('location', '/admin').send());
}
