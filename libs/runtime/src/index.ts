export * from './runtime';
export * from './infra';
export * from './process';
export * from './worker-registry';
export * from './admin-key';
