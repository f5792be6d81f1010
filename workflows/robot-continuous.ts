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
import { continuousStateQuery, continuousUpdateSignal, type ContinuousInput, type ContinuousState } from '../contracts/messages';
import { runStartAttributes } from '../contracts/search-attributes';

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
      const args = { ...run, trigger: 'continuous' as const, host: undefined, requestedAt: new Date().toISOString() };
      const result = await executeChild(robotRunWorkflow, {
        workflowId: id,
        args: [args],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        ...runStartAttributes(args),
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
