/**
 * robotContinuousWorkflow: continuous mode, "always running, like a background monitor". One long-lived workflow
 * per robot (id `robot-continuous-<robotId>`) runs the robot once per cycle as a child robotRunWorkflow, pauses,
 * and goes again. A failed cycle is recorded and the loop goes on; cancelling the loop cancels the cycle in flight
 * and ends it (status Cancelled in Temporal). It continues-as-new before its history grows large (a configurable
 * event count), carrying its counters, so it can run for months. Edits of the robot reach it by signal and apply
 * from the next cycle on; a cycle in flight keeps the version it started with.
 */
import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import { robotRunWorkflow } from './robot-run';
import { McRobotId, McStatus, McTrigger } from './search-attributes';
import type { RunInput, RunStatus } from './types';

export interface ContinuousInput {
  /** What every cycle runs (trigger is set to `continuous`). */
  run: RunInput;
  /** Pause between cycles in milliseconds. */
  pauseMs: number;
  /** Continue-as-new once the history has this many events (default 1000). */
  maxHistoryEvents?: number;
  /** Carried over continue-as-new. */
  cycles?: number;
  failures?: number;
  generation?: number;
  lastRunId?: string;
  lastStatus?: RunStatus;
}

export interface ContinuousState {
  robotId: string;
  robotVersion: number;
  cycles: number;
  failures: number;
  /** How many times this loop has continued-as-new. */
  generation: number;
  phase: 'running' | 'pausing';
  currentRunId?: string;
  lastRunId?: string;
  lastStatus?: RunStatus;
  pauseMs: number;
}

export const continuousStateQuery = defineQuery<ContinuousState>('continuousState');
/** New definition (from an edit of the robot); applies from the next cycle. */
export const continuousUpdateSignal = defineSignal<[{ run: RunInput; pauseMs: number }]>('continuousUpdate');

export const continuousWorkflowId = (robotId: string) => `robot-continuous-${robotId}`;

export async function robotContinuousWorkflow(input: ContinuousInput): Promise<void> {
  let run = input.run;
  let pauseMs = input.pauseMs;
  const state: ContinuousState = {
    robotId: run.robot.id,
    robotVersion: run.robot.version,
    cycles: input.cycles ?? 0,
    failures: input.failures ?? 0,
    generation: input.generation ?? 0,
    phase: 'running',
    lastRunId: input.lastRunId,
    lastStatus: input.lastStatus,
    pauseMs,
  };
  setHandler(continuousStateQuery, () => state);
  setHandler(continuousUpdateSignal, (u) => {
    run = u.run;
    pauseMs = u.pauseMs;
    state.robotVersion = u.run.robot.version;
    state.pauseMs = u.pauseMs;
  });

  const maxHistory = input.maxHistoryEvents ?? 1000;
  for (;;) {
    state.phase = 'running';
    const id = `run-${uuid4()}`;
    state.currentRunId = id;
    try {
      const result = await executeChild(robotRunWorkflow, {
        workflowId: id,
        args: [{ ...run, trigger: 'continuous', host: undefined, requestedAt: new Date().toISOString() }],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        typedSearchAttributes: [
          { key: McStatus, value: 'Pending' },
          { key: McRobotId, value: run.robot.id },
          { key: McTrigger, value: 'continuous' },
        ],
        memo: { run: { task: run.task.slice(0, 500), robotName: run.robot.name, status: 'Pending' } },
      });
      state.lastStatus = result.status;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // A failed cycle does not stop the monitor; it is counted and visible in the run itself.
      state.failures++;
      state.lastStatus = 'Failed';
    }
    state.cycles++;
    state.lastRunId = id;
    state.currentRunId = undefined;
    state.phase = 'pausing';
    await sleep(pauseMs);
    if (workflowInfo().historyLength >= maxHistory || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof robotContinuousWorkflow>({
        run,
        pauseMs,
        maxHistoryEvents: input.maxHistoryEvents,
        cycles: state.cycles,
        failures: state.failures,
        generation: state.generation + 1,
        lastRunId: state.lastRunId,
        lastStatus: state.lastStatus,
      });
    }
  }
}
