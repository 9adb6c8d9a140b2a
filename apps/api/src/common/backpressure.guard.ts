import {
  applyDecorators,
  Injectable,
  SetMetadata,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { QueueName } from '@baton/contracts';
import { Backpressure as BackpressureService } from './backpressure.service';

const BACKPRESSURE_KEY = 'baton:backpressure';

@Injectable()
export class BackpressureGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly backpressure: BackpressureService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const queue = this.reflector.get<QueueName | undefined>(BACKPRESSURE_KEY, ctx.getHandler());
    if (queue) await this.backpressure.check(queue);
    return true;
  }
}

/** Refuse with 503 while this queue's backlog is past its bound (a guard on these routes only, after auth and rate). */
export const Backpressure = (queue: QueueName) =>
  applyDecorators(SetMetadata(BACKPRESSURE_KEY, queue), UseGuards(BackpressureGuard));
