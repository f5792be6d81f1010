#!/usr/bin/env node
/**
 * `npm test`: bootstraps what a fresh clone lacks (npm packages, the Temporal CLI) and runs the whole suite.
 * Extra arguments go to jest, e.g. `npm test -- test/api.test.ts`.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ensureNodeModules } = require('./bootstrap.js');
const { resolveTemporalCli } = require('./temporal-cli.js');

const ROOT = path.resolve(__dirname, '..');
ensureNodeModules();
process.env.TEMPORAL_CLI_PATH = resolveTemporalCli();
const jest = require.resolve('jest/bin/jest', { paths: [ROOT] });
const r = spawnSync(process.execPath, [jest, ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit', env: process.env });
process.exit(r.status ?? 1);
