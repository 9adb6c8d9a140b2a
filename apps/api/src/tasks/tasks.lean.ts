import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, RouteHandlerMethod } from 'fastify';
import { QUEUES } from '@baton/contracts';
import { isId, notFound, tenantScope, withChanges, type Access, type Principal } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import type { TaskService } from '@baton/tasks';
import { ApiKeys } from '../common/api-keys.service';
import { authenticate } from '../common/auth.guard';
import { Backpressure } from '../common/backpressure.service';
import { sendError } from '../common/error.filter';
import { runIdempotent } from '../common/idempotency';
import { enforceRate } from '../common/rate-limit.guard';
import { KeyRateLimiter } from '../common/rate-limiter';
import type { BatonRequest } from '../common/request';
import { validBody } from '../common/validation.pipe';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { TaskServiceProvider } from './task-service.provider';
import { CreateTaskDto, quickTaskBody, type TaskDto } from './tasks.dto';

/** POST /v1/tasks's work, after the edge: the task created under the reserved id, its webhook secret shown once. */
export async function submitTask(
  tasks: TaskService,
  notifications: NotificationServiceProvider,
  caller: Principal,
  body: CreateTaskDto,
  reservedId: string,
  requestId: string,
): Promise<TaskDto> {
  const { notify, reveal } = await notifications.prepare(body.notify);
  const task = await tasks.create(caller.tenantId, withChanges(body, { notify }), { id: reservedId, requestId });
  return reveal(task, reservedId);
}

/**
 * The two task routes that carry most of the traffic, `POST /v1/tasks` and `GET /v1/tasks/:id`, as plain Fastify
 * handlers. TasksController still declares them (path, OpenAPI, the same work through submitTask); its Nest handler is
 * swapped for these as Nest registers the routes (createApi). They run the same edge in the same order as Nest's
 * guards, interceptor and pipe: API key and role, rate limit, backpressure, Idempotency-Key, body validation; errors
 * leave in the same envelope. Measured in `npm run bench:api`: Nest's pipeline (reflector reads, rxjs, parameter
 * resolution) cost as much API CPU as the rest of the request.
 */
export function leanTaskRoutes(app: NestFastifyApplication, runtime: Runtime): Record<string, RouteHandlerMethod> {
  const keys = app.get(ApiKeys);
  const limiter = app.get(KeyRateLimiter);
  const backpressure = app.get(Backpressure);
  const tasks = app.get(TaskServiceProvider).service;
  const notifications = app.get(NotificationServiceProvider);

  const edge = async (req: BatonRequest, reply: FastifyReply, access: Access): Promise<Principal> => {
    const caller = await authenticate(keys, req, access);
    enforceRate(await limiter.take(caller.keyId), reply);
    return caller;
  };
  const fail = (req: BatonRequest, reply: FastifyReply, error: unknown): FastifyReply => {
    sendError(req, reply, error, runtime.log);
    return reply;
  };

  const create: RouteHandlerMethod = async (req: BatonRequest, reply) => {
    try {
      const caller = await edge(req, reply, 'write');
      await backpressure.check(QUEUES.tasks);
      void reply.code(202); // a replay sets its first answer's status instead
      const answer = await runIdempotent(runtime, { kind: 'task', redact: ['webhookSecret'] }, req, reply, 202, () =>
        submitTask(
          tasks,
          notifications,
          caller,
          quickTaskBody(req.body) ?? validBody(CreateTaskDto, req.body),
          req.reservedId!,
          String(req.id),
        ),
      );
      return reply.send(answer);
    } catch (error) {
      return fail(req, reply, error);
    }
  };

  const get: RouteHandlerMethod = async (req: BatonRequest, reply) => {
    try {
      const caller = await edge(req, reply, 'read');
      const { id } = req.params as { id: string };
      if (!isId('task', id)) throw notFound('task');
      return reply.send(await tasks.get(id, tenantScope(caller)));
    } catch (error) {
      return fail(req, reply, error);
    }
  };

  return { 'POST /v1/tasks': create, 'GET /v1/tasks/:id': get };
}
