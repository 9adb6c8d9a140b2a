import { UnrecoverableError } from 'bullmq';

/** Bad input or a missing record: retrying cannot help, so BullMQ fails the job at once. */
export class PermanentJobError extends UnrecoverableError {
  constructor(
    message: string,
    readonly code = 'permanent',
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export const isPermanent = (error: unknown): boolean => error instanceof UnrecoverableError;
