export * from './simulator.config';
export * from './simulator.stats';
export * from './cluster.simulator';
export * from './simulator.server';
export * from './simulator.env';
