/**
 * The test kit's core, used by test/ and bench/: a real Temporal dev server per test file (from the same CLI binary
 * `npm start` uses) — or, with TEMPORAL_ADDRESS set, an existing server in a namespace of its own per test process —
 * the app's configuration for a test, a worker on it, and a poll helper.
 */
import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { loadConfig, Config } from '../lib/config';
import { ensureSearchAttributes } from '../lib/temporal';
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
 *
 * With TEMPORAL_ADDRESS set (e.g. the cluster of `npm run test:cluster`), no dev server is started: the environment
 * connects to that server, in a namespace of its own (see createExistingServerEnv); `extraArgs` do not apply then.
 */
export async function createTestEnv(extraArgs: string[] = []): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  if (process.env.TEMPORAL_ADDRESS) return createExistingServerEnv(process.env.TEMPORAL_ADDRESS);
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

/**
 * The namespace this process's tests use: `default` on the per-file dev server; on an existing server a namespace
 * of its own per test process (per test file under jest), so suites and runs never see each other's workflows.
 */
export const TEST_NAMESPACE = process.env.TEMPORAL_ADDRESS ? `mc-test-${Date.now()}-${randomUUID().slice(0, 8)}` : 'default';

let namespaceReady: Promise<void> | undefined;
let openEnvs = 0;

/**
 * A test environment on an existing Temporal server (`TestWorkflowEnvironment.createFromExistingServer`): registers
 * TEST_NAMESPACE (1-day retention) through the workflow service, waits until the server's services know it, and
 * registers our search attributes in it. Tearing down the last environment of the process deletes the namespace
 * (the server removes its workflows in the background).
 */
export async function createExistingServerEnv(address: string, namespace = TEST_NAMESPACE): Promise<TestWorkflowEnvironment> {
  namespaceReady ??= (async () => {
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      // A new namespace reaches every service's cache within seconds (system.namespaceCacheRefreshInterval).
      await eventually(async () => {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        await ensureSearchAttributes(connection, namespace);
        return true;
      }, 60_000, 250);
    } finally {
      await connection.close();
    }
  })();
  await namespaceReady;
  // Like the dev-server environment: a retry still waiting at teardown ends quietly.
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace, plugins: [closeSafeConnection] });
  openEnvs++;
  const teardown = env.teardown.bind(env);
  // The SDK's teardown closes the connections; the namespace goes with the last environment of the process.
  Object.defineProperty(env, 'teardown', {
    value: async () => {
      if (--openEnvs === 0) {
        // Clean-up only: if it fails, the namespace stays and its runs expire with the 1-day retention.
        await env.connection.operatorService.deleteNamespace({ namespace }).catch(() => undefined);
        namespaceReady = undefined;
      }
      await teardown();
    },
  });
  return env;
}

function installQuietRuntime(): void {
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
}

/** Configuration as the app would parse it, with a task queue of its own per test. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    TEMPORAL_NAMESPACE: TEST_NAMESPACE,
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
