export * from './alert.rules';
export * from './alert.store';
export * from './alert.watcher';
