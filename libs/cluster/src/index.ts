export * from './cluster.client';
export * from './cluster.errors';
export * from './retry-after';
export * from './callback.signature';
export * from './http-cluster.client';
export * from './simulator';
export * from './http-call';
