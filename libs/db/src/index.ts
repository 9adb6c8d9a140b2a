export * from './prisma';
export * from './database-url';
export * from './access.store';
export * from './idempotency.store';
export * from './task.store';
export { migrateDeploy, createMigration } from './migrate/migrator';
export * from './dead-letter.store';
export * from './ops.store';
export * from './batch.store';
