import { ConfigError, loadConfig } from '@baton/config';
import { createLogger } from '@baton/observability';
import { createRuntime, type Runtime, type RuntimeOptions } from './runtime';

export type Stop = () => Promise<void>;

/**
 * Runs one Baton process: validates settings (a bad one stops the process with one line), builds the runtime, starts
 * the app(s), and on SIGTERM/SIGINT stops them within SHUTDOWN_GRACE_MS before closing connections.
 */
export async function runProcess(
  name: string,
  opts: Omit<RuntimeOptions, 'name' | 'logger'>,
  start: (runtime: Runtime) => Promise<Stop>,
): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`baton: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name });
  let runtime: Runtime | undefined;
  try {
    runtime = await createRuntime(config, { ...opts, name, logger: log });
    const stop = await start(runtime);
    const rt = runtime;
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS + 5_000);
      force.unref();
      void stop()
        .catch((err: unknown) => log.error({ err }, 'error while stopping'))
        .then(() => rt.close())
        .finally(() => process.exit(0));
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  } catch (error) {
    log.fatal({ err: error }, `${name} failed to start: ${(error as Error).message}`);
    await runtime?.close().catch(() => undefined);
    process.exit(1);
  }
}
