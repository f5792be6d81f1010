/**
 * Where a robot run spends what a bare run does not, read from the histories of one run of each (same worker,
 * same dev server): events by type, workflow tasks and the worker time inside them (task started → completed),
 * activities and their queue wait (scheduled → started), payload bytes (input, activity inputs and results, memo and
 * search-attribute upserts, the result) and the whole history's encoded size.
 *
 *   npm run bench:profile -- [--runs 5]
 *
 * `--runs` runs of each kind one after another; the figures are per run (mean). The robot run is the one
 * bench:overhead measures (offline model, zero latency); the bare run calls as many no-op activities.
 */
import { randomUUID } from 'node:crypto';
import { createTestEnv } from '../testkit/temporal';
import { PROFILE_ROWS, profileOf, type Profile } from '../testkit/history-profile';
import { bareActivitiesWorkflow, robotRunWorkflow } from './workflows';
import { BENCH_INPUT, benchWorker, intArg as arg, offlineBenchConfig, runMain } from './harness';


async function main() {
  const runs = arg('runs', 5);
  const env = await createTestEnv();
  const config = offlineBenchConfig(env, 'bench-profile');
  const worker = await benchWorker(env, config);
  const input = BENCH_INPUT;
  const mean = (ps: Profile[]) =>
    Object.fromEntries(PROFILE_ROWS.map(([k]) => [k, ps.reduce((n, p) => n + p[k], 0) / ps.length])) as unknown as Profile;
  const { robot, bare } = await worker.runUntil(async () => {
    const robot: Profile[] = [];
    const bare: Profile[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const r = await env.client.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `run-${randomUUID()}`, args: [input] });
      await r.result();
      const rp = profileOf((await r.fetchHistory()).events ?? []);
      const b = await env.client.workflow.start(bareActivitiesWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `bare-${randomUUID()}`, args: [rp.activities] });
      await b.result();
      const bp = profileOf((await b.fetchHistory()).events ?? []);
      // The first pair warms the worker up (bundle, caches).
      if (i > 0) {
        robot.push(rp);
        bare.push(bp);
      }
    }
    return { robot: mean(robot), bare: mean(bare) };
  });
  await env.teardown();
  const f = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
  console.log(`\nProfile of one run (mean of ${runs}), from its history`);
  console.log('| measure | robot run | bare run | robot − bare |');
  console.log('|---|---:|---:|---:|');
  for (const [k, label] of PROFILE_ROWS) console.log(`| ${label} | ${f(robot[k])} | ${f(bare[k])} | ${f(robot[k] - bare[k])} |`);
  console.log(JSON.stringify({ robot, bare }));
}

if (require.main === module) runMain(main);
