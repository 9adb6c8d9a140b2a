export * from './batch.policy';
export * from './batch.items';
export * from './batch.step';
export * from './batch.rollup';
