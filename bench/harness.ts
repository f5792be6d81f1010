/** What the benches share: running one as a script, and the worker and input the overhead benches compare. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createActivities, createActivityDeps } from '../activities';
import type { RunInput } from '../contracts/run';
import type { Config } from '../lib/config';
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

/** The production worker with the bench workflows beside ours, and `noop` / `sleepFor` activities for bare runs. */
export function benchWorker(env: TestWorkflowEnvironment, config: Config) {
  return createRobotWorker({
    connection: env.nativeConnection,
    config,
    overrides: {
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
