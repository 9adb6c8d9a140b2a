import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { allows, BatonError, type Access } from '@baton/core';
import { ACCESS_KEY, PUBLIC_KEY } from './access.decorators';
import { ApiKeys } from './api-keys.service';
import type { BatonRequest } from './request';

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
    const req = ctx.switchToHttp().getRequest<BatonRequest>();
    req.principal = await this.keys.resolve(req.headers.authorization);
    const access = this.reflector.getAllAndOverride<Access>(ACCESS_KEY, targets) ?? 'read';
    if (!allows(req.principal.role, access)) {
      throw new BatonError(
        'forbidden',
        `this API key's role (${req.principal.role}) may not ${access === 'admin' ? 'use operator endpoints' : 'write'}`,
      );
    }
    return true;
  }
}
