import {
  applyDecorators,
  Inject,
  Injectable,
  SetMetadata,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { newId, type IdKind } from '@baton/core';
import type { Runtime } from '@baton/runtime';
import { runIdempotent, type IdempotentOptions } from './idempotency';
import type { BatonRequest } from './request';
import { RUNTIME } from './tokens';

const IDEMPOTENT_KEY = 'baton:idempotent';

/** Idempotency-Key on the routes marked @Idempotent (see runIdempotent in idempotency.ts for the rules). */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: Runtime,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const options = this.reflector.get<IdempotentOptions | undefined>(IDEMPOTENT_KEY, ctx.getHandler());
    if (!options) return next.handle();
    const req = ctx.switchToHttp().getRequest<BatonRequest>();
    if (req.headers['idempotency-key'] === undefined) {
      req.reservedId = newId(options.kind); // no key: nothing to look up, no detour through a promise
      return next.handle();
    }
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const status = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, ctx.getHandler()) ?? 201;
    return from(runIdempotent(this.runtime, options, req, reply, status, () => lastValueFrom(next.handle())));
  }
}

/**
 * A create endpoint: honours Idempotency-Key, reserving an id of this kind for the object it creates. The interceptor
 * runs on these routes only, so reads never pay for it.
 */
export const Idempotent = (kind: IdKind, redact?: string[]) =>
  applyDecorators(
    SetMetadata(IDEMPOTENT_KEY, { kind, redact } satisfies IdempotentOptions),
    UseInterceptors(IdempotencyInterceptor),
  );
