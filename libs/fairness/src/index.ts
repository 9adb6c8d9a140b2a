export * from './fair.rules';
export * from './fair.queue';
export * from './fair.describe';
