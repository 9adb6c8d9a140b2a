export * from './runtime';
export * from './infra';
export * from './process';
export * from './worker-registry';
export * from './admin-key';
export * from './process-metrics';
export * from './queue-gauges';
export * from './async-bind';
