// Builds every app, lib, test and benchmark into dist/ with one tsc pass:
// 1. prisma generate (offline: the CLI only checks that the engine path exists, it does not run it),
// 2. tsc (strict, decorator metadata for Nest), 3. tsc-alias rewrites @baton/* imports to relative paths.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const run = (bin, args, env = {}) =>
  execFileSync(process.execPath, [require.resolve(bin), ...args], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });

const engine = process.env.PRISMA_SCHEMA_ENGINE_BINARY;
run('prisma/build/index.js', ['generate'], {
  PRISMA_SCHEMA_ENGINE_BINARY: engine && existsSync(engine) ? engine : process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
});
run('typescript/bin/tsc', ['-p', 'tsconfig.json']);
run('tsc-alias/dist/bin/index.js', ['-p', 'tsconfig.json']);
