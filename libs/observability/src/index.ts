export * from './logger';
export * from './context';
export * from './metrics';
