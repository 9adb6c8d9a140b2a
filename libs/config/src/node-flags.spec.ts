import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

// The node flags Baton's processes run with live in package.json (config.nodeFlags). Every way of starting an app
// passes them: the start scripts, docker-compose (NODE_OPTIONS), and the benchmarks (bench/deployment.ts reads them).
const root = join(__dirname, '../../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  config?: { nodeFlags?: string };
  scripts: Record<string, string>;
};
const flags = pkg.config?.nodeFlags ?? '';

describe('node flags of the apps', () => {
  test('are set, and node takes them', () => {
    assert.match(flags, /--max-semi-space-size=\d+/);
    const run = spawnSync(
      process.execPath,
      [...flags.split(' '), '-e', 'console.log(process.execArgv.slice(0, -2).join(" "))'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), flags);
  });

  test('every start script passes them', () => {
    const starts = Object.entries(pkg.scripts).filter(([name]) => name === 'start' || name.startsWith('start:'));
    assert.equal(starts.length, 4);
    for (const [name, script] of starts) {
      assert.match(script, /^node \$npm_package_config_nodeFlags dist\/apps\/[\w-]+\/src\/main\.js/, name);
    }
  });

  test('docker-compose gives the apps the same flags', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const options = /^\s+NODE_OPTIONS: (.+)$/m.exec(compose);
    assert.ok(options, 'NODE_OPTIONS in the apps environment');
    assert.equal(options[1].trim(), flags);
  });
});
