// Runs the test suites on the compiled tree (npm test builds first) with node's built-in runner.
//   node test/run.mjs            unit (libs/**/*.spec.js) then end-to-end (test/**/*.e2e.js)
//   node test/run.mjs unit|e2e   one level only; extra arguments filter files by substring
// Unit and end-to-end tests talk to the real Redis and Postgres (REDIS_URL, TEST_DATABASE_URL or 127.0.0.1).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const [level = 'all', ...filters] = process.argv.slice(2);

function find(dir, suffix, out = []) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, suffix, out);
    else if (name.endsWith(suffix)) out.push(path);
  }
  return out;
}

const matches = (file) => filters.length === 0 || filters.some((f) => file.includes(f));
const suites = {
  unit: { files: [...find('dist/libs', '.spec.js'), ...find('dist/apps', '.spec.js')].filter(matches), concurrency: 2 },
  e2e: { files: find('dist/test', '.e2e.js').filter(matches), concurrency: 2 },
};

let failed = false;
for (const name of level === 'all' ? ['unit', 'e2e'] : [level]) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite ${name}; use unit, e2e or all`);
    process.exit(2);
  }
  if (suite.files.length === 0) continue;
  console.log(`\n# ${name}: ${suite.files.length} file(s)`);
  const result = spawnSync(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${suite.concurrency}`,
      '--test-timeout=300000',
      ...suite.files.sort(),
    ],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } },
  );
  if (result.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
