/**
 * The test kit's core, used by test/ and bench/: a real Temporal dev server per test file (from the same CLI binary
 * `npm start` uses), the app's configuration for a test, a worker on it, and a poll helper.
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { loadConfig, Config } from '../lib/config';
import { ALL_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';
import { createRobotWorker } from '../workers/worker';
import type { ModelRouter } from '../activities/models/router';
import type { Metrics } from '../lib/metrics';
import type { Lookup } from '../activities/net/guarded-http';
import { closeSafeConnection } from '../lib/grpc-close-guard';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveTemporalCli } = require('../scripts/temporal-cli.js');

let runtimeInstalled = false;

/**
 * A real Temporal dev server (in memory) from the project's CLI, with our search attributes and quiet logs. Used by
 * every test file and by the benchmarks. `extraArgs` go to `temporal server start-dev`.
 */
export async function createTestEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    // Keep test output readable: only Temporal errors (failed activities are expected in some tests).
    try {
      // Worker heartbeats as the app's workers send them (lib/temporal.ts), so the fleet overview sees test workers.
      Runtime.install({ logger: new DefaultLogger('ERROR'), workerHeartbeatInterval: '5s' });
    } catch {
      /* already installed in this process */
    }
    runtimeInstalled = true;
  }
  // `npm test` resolves the CLI once (scripts/test.js); a benchmark run directly resolves it here.
  const cliPath = process.env.TEMPORAL_CLI_PATH ?? resolveTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    // A retry still waiting when the environment is torn down ends quietly instead of throwing into the next test file.
    plugins: [closeSafeConnection],
    server: {
      executable: { type: 'existing-path', path: cliPath },
      ip: '127.0.0.1',
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: ['--log-level', 'error', ...extraArgs],
    },
  });
}

/** Configuration as the app would parse it, with a task queue of its own per test. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    MC_TASK_QUEUE: `test-${randomUUID()}`,
    MC_MODEL_PROVIDER: 'offline',
    MC_SHUTDOWN_GRACE_SECONDS: '1',
    ...env,
  });
}

export function workflowBundle() {
  const codePath = process.env.MC_TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('MC_TEST_WORKFLOW_BUNDLE is not set: run the suite with `npm test`');
  return { codePath };
}

export async function startTestWorker(
  env: TestWorkflowEnvironment,
  config: Config,
  extra: { router?: ModelRouter; metrics?: Metrics; lookup?: Lookup } = {},
): Promise<Worker> {
  return createRobotWorker({
    connection: env.nativeConnection,
    config,
    router: extra.router,
    metrics: extra.metrics,
    lookup: extra.lookup,
    // The suite bundles the workflows once (test/global-setup.ts); a benchmark run on its own bundles at start.
    workflowBundle: process.env.MC_TEST_WORKFLOW_BUNDLE ? workflowBundle() : undefined,
  });
}

/** Poll until `check` returns a truthy value or the time runs out (for state reached asynchronously). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}
