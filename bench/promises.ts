/**
 * How many promises workflow code creates in one run: a robot run (offline model, zero latency: the run
 * bench:overhead measures) against the bare workflow of as many activities. The SDK records a stack trace for
 * every promise created in a workflow (its promise hook, for the Temporal UI's stack-trace view), so on the worker
 * this count is a cost per run of its own (docs/benchmarks.md, "Profile").
 *
 *   npm run bench:promises -- [--runs 2] [--top 20]
 *
 * The production worker (as bench:overhead runs it) runs its workflows in this thread (`debugMode`), so a promise
 * hook of this process sees them; a promise counts when a frame of the workflow bundle is on the stack where it is
 * created. Each robot run is listed by the workflow function that created its promises (first bundle frame on the
 * stack). The count does not depend on the machine or its load.
 */
import { promiseHooks } from 'node:v8';
import { randomUUID } from 'node:crypto';
import { createTestEnv } from '../testkit/temporal';
import { profileOf } from '../testkit/history-profile';
import { bareActivitiesWorkflow, robotRunWorkflow } from './workflows';
import { BENCH_INPUT, benchWorker, intArg as arg, offlineBenchConfig, runMain } from './harness';


async function main() {
  const runs = arg('runs', 2);
  const top = arg('top', 20);
  const env = await createTestEnv();
  const config = offlineBenchConfig(env, 'bench-promises');
  // The production worker (as bench:overhead runs it), with its workflows in this thread.
  const worker = await benchWorker(env, config, { debugMode: true });
  let counting = false;
  let total = 0;
  const byCreator = new Map<string, number>();
  Error.stackTraceLimit = 60;
  const stop = promiseHooks.onInit(() => {
    if (!counting) return;
    const frames = (new Error().stack ?? '').split('\n').filter((l) => l.includes('workflow-bundle'));
    if (frames.length === 0) return;
    total++;
    const creator = /at (?:async )?([\w.$<>]+)/.exec(frames[0])?.[1] ?? '?';
    byCreator.set(creator, (byCreator.get(creator) ?? 0) + 1);
  });
  const counts: Record<'robot' | 'bare', number[]> = { robot: [], bare: [] };
  let activities = 0;
  await worker.runUntil(async () => {
    // One of each first, uncounted: the bundle's first load creates promises no later run does.
    await env.client.workflow.execute(bareActivitiesWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `bare-${randomUUID()}`, args: [1] });
    for (let i = 0; i < runs; i++) {
      for (const kind of ['robot', 'bare'] as const) {
        total = 0;
        byCreator.clear();
        counting = true;
        if (kind === 'robot') {
          const handle = await env.client.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `run-${randomUUID()}`, args: [BENCH_INPUT] });
          await handle.result();
          counting = false;
          // The bare run calls as many activities as this robot run scheduled (as bench:overhead counts them).
          activities = profileOf((await handle.fetchHistory()).events ?? []).activities;
        } else {
          await env.client.workflow.execute(bareActivitiesWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `bare-${randomUUID()}`, args: [activities] });
        }
        counting = false;
        counts[kind].push(total);
        if (kind === 'robot' && i === runs - 1) {
          console.log(`Promises of one robot run by the workflow function that created them (top ${top}):`);
          for (const [fn, n] of [...byCreator].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${String(n).padStart(5)}  ${fn}`);
        }
      }
    }
  });
  stop();
  console.log(`\nPromises created by workflow code, a run: robot ${counts.robot.join(', ')}; bare (${activities} activities) ${counts.bare.join(', ')}`);
  console.log(JSON.stringify({ bench: 'promises', robot: counts.robot, bare: counts.bare }));
  await env.teardown();
}

runMain(main);
