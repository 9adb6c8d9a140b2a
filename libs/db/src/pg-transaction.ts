import type { Pool, PoolClient } from 'pg';

/** Postgres aborts one of two transactions that wait on each other; running it again is the documented remedy. */
const DEADLOCK = '40P01';
const DEADLOCK_TRIES = 3;

/** Runs `run` again when Postgres picked it as a deadlock victim (it was rolled back whole), up to 3 tries. */
export async function retryDeadlock<T>(run: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await run();
    } catch (error) {
      if ((error as { code?: string }).code !== DEADLOCK || tries >= DEADLOCK_TRIES) throw error;
    }
  }
}

const ignoreDropped = (): void => undefined;

/** `work` in one transaction on a pooled connection: committed, or rolled back and rethrown; deadlocks retried. */
export function inTransaction<T>(pool: Pool, work: (db: PoolClient) => Promise<T>): Promise<T> {
  return retryDeadlock(async () => {
    const db = await pool.connect();
    // Checked out, the client has no pool listener: a server that ends the connection between two statements (a
    // restart, a failover) would raise an unhandled 'error' and kill the process. The next statement fails instead.
    db.on('error', ignoreDropped);
    try {
      await db.query('BEGIN');
      const result = await work(db);
      await db.query('COMMIT');
      return result;
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      db.removeListener('error', ignoreDropped);
      db.release();
    }
  });
}
