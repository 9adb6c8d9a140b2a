import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { allows, BatonError, type Access, type Principal } from '@baton/core';
import { ACCESS_KEY, PUBLIC_KEY } from './access.decorators';
import { ApiKeys } from './api-keys.service';
import type { BatonRequest } from './request';

/** The caller of `req` by its API key, attached to the request; 401 without a valid key, 403 when its role may not. */
export async function authenticate(keys: ApiKeys, req: BatonRequest, access: Access): Promise<Principal> {
  const principal = await keys.resolve(req.headers.authorization);
  req.principal = principal;
  if (!allows(principal.role, access)) {
    throw new BatonError(
      'forbidden',
      `this API key's role (${principal.role}) may not ${access === 'admin' ? 'use operator endpoints' : 'write'}`,
    );
  }
  return principal;
}

/** Every route needs an API key unless marked @Public; its role must allow the route's access. Reads by default. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeys,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const access = this.reflector.getAllAndOverride<Access>(ACCESS_KEY, targets) ?? 'read';
    await authenticate(this.keys, ctx.switchToHttp().getRequest<BatonRequest>(), access);
    return true;
  }
}
