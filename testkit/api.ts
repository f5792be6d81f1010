/**
 * The API as most HTTP-level tests need it: a real worker and the real API on port 0, on a test file's dev server.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import type { Config } from '../lib/config';
import { createMetrics, Metrics } from '../lib/metrics';
import { startTestWorker, testConfig } from './temporal';
import type { Lookup } from '../activities/net/guarded-http';

export interface TestApi {
  config: Config;
  web: WebServer;
  worker: Worker;
  metrics: Metrics;
  /** Stop the worker only (to test what the API does without one). */
  stopWorker(): Promise<void>;
  /** Stop the API, then the worker. The dev server stays for the caller's teardown. */
  stop(): Promise<void>;
}

/** `lookup`: name resolution of the worker's outbound guard (to point a public-looking name at a local server). */
export async function startTestApi(env: TestWorkflowEnvironment, vars: Record<string, string>, opts: { metrics?: Metrics; lookup?: Lookup } = {}): Promise<TestApi> {
  const config = testConfig(vars);
  const metrics = opts.metrics ?? createMetrics({ defaultMetrics: false });
  const worker = await startTestWorker(env, config, { metrics, lookup: opts.lookup });
  const running = worker.run();
  const web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics }, { port: 0, host: '127.0.0.1' });
  const stopWorker = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  };
  return {
    config,
    web,
    worker,
    metrics,
    stopWorker,
    async stop() {
      await web.stop();
      await stopWorker();
    },
  };
}
