export * from './redis';
export * from './producer';
export * from './handlers';
export * from './errors';
export * from './queue-stats';
export * from './housekeeping';
export * from './job-presence';
