/**
 * Builds the Worker that hosts every workflow (runs, continuous loops, robot semaphores) and their activities. Used by workers/main.ts, by
 * `npm start`, by the tests and the benchmarks, so that all of them run the same worker.
 */
import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createModelRouter, ModelRouter } from '../activities/models/router';
import type { Config } from '../lib/config';
import type { Metrics } from '../lib/metrics';

export interface RobotWorkerOptions {
  connection: NativeConnection;
  config: Config;
  metrics?: Metrics;
  /** Model router; by default the one the configuration selects (offline without provider keys). */
  router?: ModelRouter;
  /** Prebuilt workflow bundle (tests bundle once); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra options, e.g. a different task queue. */
  overrides?: Partial<WorkerOptions>;
}

export async function createRobotWorker(opts: RobotWorkerOptions): Promise<Worker> {
  const c = opts.config;
  const router = opts.router ?? createModelRouter(c);
  return Worker.create({
    connection: opts.connection,
    namespace: c.TEMPORAL_NAMESPACE,
    taskQueue: c.MC_TASK_QUEUE,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities({
      router,
      config: c,
      metrics: opts.metrics,
      maxRepairs: c.MC_MODEL_MAX_REPAIRS,
      slotCheckSeconds: c.MC_SLOT_CHECK_SECONDS,
    }),
    maxConcurrentActivityTaskExecutions: c.MC_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: c.MC_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: c.MC_MAX_CACHED_WORKFLOWS,
    shutdownGraceTime: `${c.MC_SHUTDOWN_GRACE_SECONDS}s`,
    // Heartbeats reach the server at least every second, so a cancel reaches a running stage within ~1 s.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    ...opts.overrides,
  });
}
