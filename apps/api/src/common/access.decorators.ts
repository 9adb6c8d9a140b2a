import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Access, Principal } from '@baton/core';
import type { BatonRequest } from './request';

export const ACCESS_KEY = 'baton:access';
export const PUBLIC_KEY = 'baton:public';

/** What a route needs: read (any role of the tenant), write (member or admin), admin (operators only). */
export const Needs = (access: Access) => SetMetadata(ACCESS_KEY, access);

/** No API key needed (health, metrics, OpenAPI). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** The caller, as the auth guard resolved it. */
export const Caller = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<BatonRequest>().principal;
  if (!principal) throw new Error('route has no principal: is it marked @Public?');
  return principal;
});

/** The id reserved for the object this request creates (by Idempotency-Key, else fresh). */
export const ReservedId = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined => {
  return ctx.switchToHttp().getRequest<BatonRequest>().reservedId;
});
