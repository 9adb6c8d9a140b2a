import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateApiKeySecret } from '@baton/core';
import type { Logger } from '@baton/observability';

/**
 * Without ADMIN_API_KEY, a key is generated once into DATA_DIR/admin-api-key (mode 0600) so a fresh install can be
 * administered; the log names the file, never the key. Processes starting together (api and worker) agree on one
 * key: each writes its candidate to a file of its own and links it into place, which only the first one can do;
 * the others read the winner's, always complete.
 */
export function loadOrCreateAdminKey(dataDir: string, log: Pick<Logger, 'warn'>): string {
  return loadOrCreateSecret(dataDir, 'admin-api-key', generateApiKeySecret, log, 'ADMIN_API_KEY');
}

/** The same for any secret Baton can make up itself (the console's session key: SESSION_SECRET). */
export function loadOrCreateSecret(
  dataDir: string,
  fileName: string,
  generate: () => string,
  log: Pick<Logger, 'warn'>,
  setting: string,
): string {
  const file = join(dataDir, fileName);
  const existing = readKey(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const candidate = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const secret = generate();
  writeFileSync(candidate, `${secret}\n`, { mode: 0o600 });
  try {
    linkSync(candidate, file);
    log.warn({ file }, `${setting} is not set; generated one into this file`);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readKey(file) ?? secret;
  } finally {
    unlinkSync(candidate);
  }
}

function readKey(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
