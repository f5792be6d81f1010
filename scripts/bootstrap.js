/**
 * Makes a fresh clone runnable: installs the locked npm packages when node_modules is missing or does not hold
 * what package-lock.json locks. Plain Node, no dependencies.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');

/** True when node_modules holds every package at the version the lock file names. */
function installedMatchesLock() {
  const read = (p) => JSON.parse(fs.readFileSync(p, 'utf8')).packages || {};
  try {
    const installed = read(path.join(ROOT, 'node_modules', '.package-lock.json'));
    const locked = read(path.join(ROOT, 'package-lock.json'));
    return Object.entries(locked).every(
      ([name, meta]) => name === '' || meta.optional || (installed[name] && installed[name].version === meta.version),
    );
  } catch {
    return false;
  }
}

function ensureNodeModules() {
  if (installedMatchesLock()) return;
  process.stderr.write('[bootstrap] installing npm packages (npm install, locked versions) ...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // `npm install`, not `npm ci`: see .ci/run (optional native builds for other platforms may be unavailable).
  const r = spawnSync(npm, ['install', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write('[bootstrap] npm install failed; fix the error above and run again.\n');
    process.exit(r.status ?? 1);
  }
}

module.exports = { ensureNodeModules, ROOT };
