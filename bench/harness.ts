/** What the benches share: running one as a script, and the worker and input the overhead benches compare. */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities, createActivityDeps } from '../activities';
import type { RunInput } from '../contracts/run';
import { loadConfig, type Config } from '../lib/config';
import { createRobotWorker } from '../workers/worker';

/** Run a bench's main and exit with its outcome (open handles of a dev server must not keep the process up). */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** The integer value of `--name` on the command line (at least `min`), or `fallback` when it is not given. */
export function intArg(name: string, fallback: number, min = 1): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer of at least ${min}`);
  return v;
}

/** A worker configuration for a bench: the offline model answering at once, a task queue of its own. */
export function offlineBenchConfig(env: TestWorkflowEnvironment, queuePrefix: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    ...extra,
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    MC_MODEL_PROVIDER: 'offline',
    MC_OFFLINE_DELAY_MS: '0',
    MC_TASK_QUEUE: `${queuePrefix}-${randomUUID()}`,
  });
}

/** The production worker with the bench workflows beside ours, and `noop` / `sleepFor` activities for bare runs. */
export function benchWorker(env: TestWorkflowEnvironment, config: Config, extra: Partial<WorkerOptions> = {}) {
  return createRobotWorker({
    connection: env.nativeConnection,
    config,
    overrides: {
      ...extra,
      workflowsPath: require.resolve('./workflows'),
      activities: {
        ...createActivities(createActivityDeps(config)),
        noop: async (stage: string) => stage,
        sleepFor: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
      },
    },
  });
}

export const BENCH_INPUT: RunInput = { task: 'Benchmark task: summarise three facts', robot: { id: 'bench', name: 'Bench', role: 'Benchmark robot', version: 0 }, trigger: 'api' };
