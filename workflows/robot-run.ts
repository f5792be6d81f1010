/**
 * robotRunWorkflow: one run of a robot through Inspiration → Goals → Tasks → Validation → Delivery, with people in
 * control: an optional Robot Host conversation before the pipeline, approval gates before any stage and after
 * Delivery is formatted (`final`, before it takes effect), bounded revisions, gate deadlines with a timeout
 * policy, and budget gates before a model call that would overspend.
 *
 * Deterministic orchestration only: every stage, host turn and notification is an activity (all I/O lives there),
 * and the Tasks stage's graph of node activities is scheduled in this workflow (dag/). The run is composed of
 * plain parts, one concern each: its record of state, events, memo and search attributes (run/recorder.ts), gates
 * and decisions (run/gates.ts, run/decisions.ts), one budget for stages, host and graph (run/budget.ts), the Robot
 * Host (run/host.ts), the stages (run/pipeline.ts), and how the run ends (run/outcome.ts).
 */
import { CancellationScope } from '@temporalio/workflow';
import type { RunInput, RunState } from '../contracts/run';
import { now } from './clock';
import { DagExecutor } from './dag/executor';
import { acquireRobotSlot, releaseRobotSlot } from './robot-slots';
import { RunBudget } from './run/budget';
import { Gates } from './run/gates';
import { RobotHost } from './run/host';
import { completed, stopped } from './run/outcome';
import { Pipeline } from './run/pipeline';
import { RunRecorder } from './run/recorder';

/**
 * Run a robot once.
 *
 * @example
 * await client.workflow.start(robotRunWorkflow, {
 *   taskQueue: 'mission-control', workflowId: `run-${uuid}`,
 *   args: [{ task: 'Summarise the news', robot: { id: 'adhoc', name: 'Ad hoc', role: 'Analyst', version: 0 }, trigger: 'api',
 *            approvals: { gates: [{ at: 'final', timeoutSeconds: 86400, onTimeout: 'escalate' }] } }],
 * });
 */
export async function robotRunWorkflow(input: RunInput): Promise<RunState> {
  // Each part registers its queries and updates as it is built, before the first await: a message may arrive
  // with the run's first workflow task.
  const run = new RunRecorder(input);
  const gates = new Gates(input, run);
  const budget = new RunBudget(input, run, gates);
  const graph = new DagExecutor({ input, recorder: run, budget });
  const host = new RobotHost(input, run, budget);
  const pipeline = new Pipeline(input, run, gates, budget, graph);
  run.announce(input);

  let holdsSlot = false;
  try {
    if (host.wanted) pipeline.task = await host.converse();
    if (input.concurrencyLimit) {
      // Stays Pending until the robot's semaphore grants a slot (taken after the host conversation, so a person
      // typing holds no slot); a cancel while waiting withdraws the request.
      holdsSlot = true;
      run.event('run.waiting', `Waiting for a concurrency slot (limit ${input.concurrencyLimit})`);
      run.publish();
      await acquireRobotSlot(input.robot.id, input.concurrencyLimit);
      run.event('run.slot', 'Concurrency slot granted');
    }
    run.state.startedAt = now();
    run.setStatus('Running', `Run started by ${input.trigger}`);
    await pipeline.runStages();
    await pipeline.deliver();
    return await completed(run);
  } catch (err) {
    throw await stopped(run, pipeline.current, err);
  } finally {
    if (holdsSlot) await CancellationScope.nonCancellable(() => releaseRobotSlot(input.robot.id));
  }
}
