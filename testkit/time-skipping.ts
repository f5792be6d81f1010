/**
 * Temporal's time-skipping test server for workflow tests that would otherwise wait in real time (gate deadlines):
 * timers fire as soon as nothing else is going on while a test awaits a workflow's result or `env.sleep()`.
 * The server is the Java program from Maven Central, installed on first use by scripts/test-server.js (the SDK's
 * own download needs the internet), and the project's search attributes are registered on it.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ALL_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveTestServer } = require('../scripts/test-server.js') as {
  resolveTestServer: (opts?: { install?: boolean }) => Promise<string>;
};

let runtimeInstalled = false;

/**
 * A time-skipping test environment on the project's copy of the test server (TEMPORAL_TEST_SERVER_PATH, else
 * .tools/temporal-test-server/, installed there from Maven Central when missing).
 *
 * @example
 * const env = await createTimeSkippingEnv();
 * const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities });
 * const state = await worker.runUntil(env.client.workflow.execute(robotRunWorkflow, { taskQueue, workflowId, args }));
 * await env.teardown();
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  if (!runtimeInstalled) {
    try {
      // Errors only: the SDK warns at every worker start that this server does not advertise newer capabilities.
      Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    } catch {
      /* already installed in this process */
    }
    runtimeInstalled = true;
  }
  const launcher = await resolveTestServer();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: launcher } } });
  try {
    // The test server answers only AddSearchAttributes of the operator service (not List), so register blindly.
    const { INDEXED_VALUE_TYPE_KEYWORD } = temporal.api.enums.v1.IndexedValueType;
    await env.connection.withDeadline(Date.now() + 10_000, () =>
      env.connection.operatorService.addSearchAttributes({
        namespace: env.namespace ?? 'default',
        searchAttributes: Object.fromEntries(
          ALL_SEARCH_ATTRIBUTES.map((k) => {
            if (k.type !== SearchAttributeType.KEYWORD) throw new Error(`time-skipping env: register ${k.name} (${k.type}) here`);
            return [k.name, INDEXED_VALUE_TYPE_KEYWORD];
          }),
        ),
      }),
    );
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}

/** The workflow bundle `npm test` builds once (test/global-setup.ts), or the workflows' source when run otherwise. */
export function bundleOrSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const codePath = process.env.MC_TEST_WORKFLOW_BUNDLE;
  return codePath ? { workflowBundle: { codePath } } : { workflowsPath: require.resolve('../workflows') };
}
