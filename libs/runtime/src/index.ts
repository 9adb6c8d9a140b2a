export * from './runtime';
export * from './infra';
export * from './process';
