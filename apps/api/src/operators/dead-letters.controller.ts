import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, invalidState, isId, notFound, parseLimit, toPage, type Page } from '@baton/core';
import type { DeadLetterView } from '@baton/db';
import type { Runtime } from '@baton/runtime';
import { Needs } from '../common/access.decorators';
import { RUNTIME } from '../common/tokens';
import { NotificationServiceProvider } from '../notifications/notification-service.provider';
import { TaskServiceProvider } from '../tasks/task-service.provider';
import { DeadLettersQueryDto } from './operators.dto';

@ApiTags('operators')
@ApiBearerAuth()
@Controller('v1/dead-letters')
@Needs('admin')
export class DeadLettersController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: Runtime,
    private readonly tasks: TaskServiceProvider,
    private readonly notifications: NotificationServiceProvider,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Work that failed for good, newest first' })
  async list(@Query() query: DeadLettersQueryDto): Promise<Page<DeadLetterView>> {
    const limit = parseLimit(query.limit);
    const rows = await this.runtime.stores.deadLetters.list(
      { kind: query.kind, tenantId: query.tenant },
      decodeCursor(query.cursor),
      limit + 1,
    );
    return toPage(rows, limit, (row) => row.id);
  }

  /** Runs the failed work again (a new generation with a fresh attempt budget); a dead letter is replayed once. */
  @Post(':id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay a dead letter' })
  async replay(@Param('id') id: string): Promise<{ deadLetter: DeadLetterView; subject: unknown }> {
    const letter = isId('deadLetter', id) ? await this.runtime.stores.deadLetters.find(id) : null;
    if (!letter) throw notFound('dead letter');
    if (letter.replayedAt) throw invalidState(`dead letter ${id} was already replayed at ${letter.replayedAt}`);
    const subject = await this.replaySubject(letter);
    if (!subject) throw invalidState(`${letter.kind} ${letter.subjectId} is no longer failed`);
    await this.runtime.stores.deadLetters.markReplayed(id);
    const replayed = await this.runtime.stores.deadLetters.find(id);
    return { deadLetter: replayed ?? letter, subject };
  }

  /** A delivery is sent again with the same webhook-id; a task runs again as a new generation. */
  private replaySubject(letter: DeadLetterView): Promise<unknown> {
    switch (letter.kind) {
      case 'task':
        return this.tasks.service.replay(letter.subjectId);
      case 'delivery':
        return this.notifications.service.replay(letter.subjectId);
      default:
        throw invalidState(`dead letters of kind ${letter.kind} cannot be replayed here`);
    }
  }
}
