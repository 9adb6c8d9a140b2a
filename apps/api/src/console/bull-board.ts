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
        handler: (req) => {
          if (!req) return route.handler(req);
          const role = boardRoles.get(req.headers);
          return route.handler(role && canActInConsole(role) ? req : { ...req, queues: this.readOnly });
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
    options: { uiConfig: { boardTitle: 'Baton queues', miscLinks: [{ text: 'Operator views', url: '/admin' }] } },
  });
  return adapter.registerPlugin();
}
