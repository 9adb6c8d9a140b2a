import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { QueueName } from '@baton/contracts';
import { BACKPRESSURE_KEY } from './access.decorators';
import { Backpressure } from './backpressure.service';

@Injectable()
export class BackpressureGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly backpressure: Backpressure,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const queue = this.reflector.get<QueueName | undefined>(BACKPRESSURE_KEY, ctx.getHandler());
    if (queue) await this.backpressure.check(queue);
    return true;
  }
}
