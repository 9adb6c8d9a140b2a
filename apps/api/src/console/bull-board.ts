import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyPluginCallback } from 'fastify';
import { ALL_QUEUES } from '@baton/contracts';
import type { Role } from '@baton/core';
import { canActInConsole } from '@baton/identity';
import type { JobProducer } from '@baton/queue';

// @bull-board/fastify pins its own copy of @bull-board/api; these are the types of that copy.
type Routes = Parameters<FastifyAdapter['setApiRoutes']>[0];
type BoardQueues = Parameters<FastifyAdapter['setQueues']>[0];
type ServerAdapter = Parameters<typeof createBullBoard>[0]['serverAdapter'];

/** BullMQ's refusals of a job transition (finished-errors.ts): the job is not where the action needs it. */
const JOB_STATE_ERROR =
  /^(Missing key for (parent )?job|Job \S+ (is not in the \w+ state|has pending dependencies|belongs to a job scheduler))/;

/** The signed-in role of a board request, keyed by its headers object (the one thing Bull Board hands its handlers). */
export const boardRoles = new WeakMap<object, Role>();

/**
 * Bull Board's Fastify adapter, answering each API call with the full board for admins and the read-only one for
 * everyone else: the UI then hides the actions, and Bull Board itself refuses them (405) on read-only queues.
 */
class RoleAwareAdapter extends FastifyAdapter {
  constructor(private readonly readOnly: BoardQueues) {
    super();
  }

  override setApiRoutes(routes: Routes): FastifyAdapter {
    return super.setApiRoutes(
      routes.map((route) => ({
        ...route,
        handler: async (req) => {
          const role = req && boardRoles.get(req.headers);
          try {
            return await route.handler(
              req && (role && canActInConsole(role) ? req : { ...req, queues: this.readOnly }),
            );
          } catch (error) {
            // An action on a job in the wrong state (promote a job that is not delayed, remove a scheduler's job)
            // is the caller's mistake: 409 in Bull Board's own error shape, not the 500 its handler would send.
            if (error instanceof Error && JOB_STATE_ERROR.test(error.message)) {
              return { status: 409 as const, body: { error: { key: 'ERRORS.INVALID_STATE' }, message: error.message } };
            }
            throw error;
          }
        },
      })),
    );
  }
}

/** Bull Board over every Baton queue (ALL_QUEUES, so queues added later appear by themselves), to mount at `base`. */
export function bullBoardPlugin(producer: JobProducer, base: string): FastifyPluginCallback {
  const queues = ALL_QUEUES.map((name) => producer.queue(name));
  const readOnly = new Map(
    queues.map((q) => [q.name, new BullMQAdapter(q, { readOnlyMode: true, description: 'read-only' })]),
  );
  const adapter = new RoleAwareAdapter(readOnly as unknown as BoardQueues);
  adapter.setBasePath(base);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: adapter as unknown as ServerAdapter,
    options: {
      uiConfig: {
        boardTitle: 'Baton queues',
        miscLinks: [
          { text: 'Operator views', url: '/admin' },
          { text: 'Sign out', url: '/admin/logout' },
        ],
      },
    },
  });
  return adapter.registerPlugin();
}
