// The npm registry this project is built against serves only the Linux builds of some optional native add-ons
// (msgpackr-extract's prebuilt binaries). npm then leaves the other platforms' entries out of package-lock.json, and
// its own `npm ci` refuses that lock ("Missing: ... from lock file"). Run this after `npm install` to put the missing
// entries back: optional, with their os/cpu, so npm skips them on other platforms and fetches them where they fit.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  '@msgpackr-extract/msgpackr-extract-darwin-arm64': ['darwin', 'arm64'],
  '@msgpackr-extract/msgpackr-extract-darwin-x64': ['darwin', 'x64'],
  '@msgpackr-extract/msgpackr-extract-linux-arm': ['linux', 'arm'],
  '@msgpackr-extract/msgpackr-extract-linux-arm64': ['linux', 'arm64'],
  '@msgpackr-extract/msgpackr-extract-linux-x64': ['linux', 'x64'],
  '@msgpackr-extract/msgpackr-extract-win32-x64': ['win32', 'x64'],
};

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const wanted = lock.packages['node_modules/msgpackr-extract']?.optionalDependencies ?? {};
let added = 0;
for (const [name, version] of Object.entries(wanted)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key] || !PLATFORMS[name]) continue;
  const [os, cpu] = PLATFORMS[name];
  lock.packages[key] = { version, cpu: [cpu], license: 'MIT', optional: true, os: [os] };
  added++;
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root, ...rest.sort(([a], [b]) => (a < b ? -1 : 1))]);
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: ${added} optional platform entr${added === 1 ? 'y' : 'ies'} added`);
