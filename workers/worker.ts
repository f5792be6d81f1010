/**
 * Builds the Worker that runs every workflow (runs, continuous loops, robot semaphores) and their activities. Used by
 * workers/main.ts, by `npm start`, by the tests and the benchmarks, so that all of them run the same worker. The
 * activities' dependencies are built once here (activities/deps.ts); any of them can be handed in instead.
 */
import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { ActivityDeps, createActivities, createActivityDeps } from '../activities';
import type { Config } from '../lib/config';

export interface RobotWorkerOptions extends Partial<Omit<ActivityDeps, 'config'>> {
  connection: NativeConnection;
  config: Config;
  /** Prebuilt workflow bundle (tests bundle once); by default the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra options, e.g. a different task queue. */
  overrides?: Partial<WorkerOptions>;
}

export async function createRobotWorker(opts: RobotWorkerOptions): Promise<Worker> {
  const { connection, config: c, workflowBundle, overrides, ...parts } = opts;
  return Worker.create({
    connection,
    namespace: c.TEMPORAL_NAMESPACE,
    taskQueue: c.MC_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(createActivityDeps(c, parts)),
    maxConcurrentActivityTaskExecutions: c.MC_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: c.MC_MAX_CONCURRENT_WORKFLOW_TASKS,
    maxCachedWorkflows: c.MC_MAX_CACHED_WORKFLOWS,
    shutdownGraceTime: `${c.MC_SHUTDOWN_GRACE_SECONDS}s`,
    // Heartbeats reach the server at least every second, so a cancel reaches a running stage within ~1 s.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    ...overrides,
  });
}
