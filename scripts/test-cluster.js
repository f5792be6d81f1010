#!/usr/bin/env node
/**
 * `npm run test:cluster`: the tests that matter on a production-shaped Temporal (test/cluster/), against a local
 * cluster this script brings up (scripts/cluster.ts: temporal-server + PostgreSQL, two nodes) in its own folder,
 * .data/cluster-test (MC_CLUSTER_DIR), and stops afterwards (its data is kept, so the next run starts in seconds).
 * The first run on a machine builds temporal-server with Go (~15 minutes on 2 cores). Extra arguments go to jest.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureNodeModules, ROOT } = require('./bootstrap.js');
const { resolveTemporalCli } = require('./temporal-cli.js');

ensureNodeModules();
process.env.TEMPORAL_CLI_PATH = resolveTemporalCli();
process.env.MC_CLUSTER_DIR = path.resolve(process.env.MC_CLUSTER_DIR || path.join(ROOT, '.data', 'cluster-test'));

const cluster = (...args) =>
  spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'cluster.ts'), ...args], { cwd: ROOT, stdio: 'inherit', env: process.env });

// Ctrl-C reaches jest (same terminal); this process stays to stop the cluster afterwards.
process.on('SIGINT', () => {});

const up = cluster('up', '--nodes', '2');
if (up.status !== 0) process.exit(up.status ?? 1);
let status = 1;
try {
  const state = JSON.parse(fs.readFileSync(path.join(process.env.MC_CLUSTER_DIR, 'state.json'), 'utf8'));
  process.env.TEMPORAL_ADDRESS = `127.0.0.1:${state.ports.frontend}`;
  const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [jest, '-c', path.join(ROOT, 'jest.cluster.config.js'), ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: 'inherit',
    env: process.env,
  });
  status = r.status ?? 1;
} finally {
  const down = cluster('down');
  if (down.status !== 0 && status === 0) status = down.status ?? 1;
}
process.exit(status);
