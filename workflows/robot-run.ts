/**
 * robotRunWorkflow: one run of a robot through Inspiration → Goals → Tasks → Validation → Delivery.
 *
 * Deterministic orchestration only: every stage is an activity (all I/O lives there); this code keeps the
 * run's state, mirrors it into search attributes and memo so runs can be listed and shown without a worker,
 * and turns cancellation and stage failures into a final status.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { StageActivities } from '../activities/stages';
import { acquireRobotSlot, releaseRobotSlot } from './robot-slots';
import { McRobotId, McStage, McStatus, McTrigger } from './search-attributes';
import {
  addCalls,
  emptyUsage,
  RunInput,
  RunMemo,
  RunState,
  RunStatus,
  STAGES,
  StageName,
  StageState,
  StageStatus,
} from './types';

/** Full run state: stages, outputs, tokens, cost, events. */
export const runStateQuery = defineQuery<RunState>('runState');

/** Activity type name of each stage, as it shows in the Temporal Web UI and `temporal workflow show`. */
export const STAGE_ACTIVITY: Record<StageName, keyof StageActivities> = {
  inspiration: 'inspirationStage',
  goals: 'goalsStage',
  tasks: 'tasksStage',
  validation: 'validationStage',
  delivery: 'deliveryStage',
};

const MAX_EVENTS = 500;

/**
 * Run a robot once.
 *
 * @example
 * await client.workflow.start(robotRunWorkflow, {
 *   taskQueue: 'mission-control', workflowId: `run-${uuid}`,
 *   args: [{ task: 'Summarise the news', robot: { id: 'adhoc', name: 'Ad hoc', role: 'Analyst', version: 0 }, trigger: 'api' }],
 * });
 */
export async function robotRunWorkflow(input: RunInput): Promise<RunState> {
  const now = () => new Date().toISOString();
  const state: RunState = {
    runId: workflowInfo().workflowId,
    task: input.task,
    robot: input.robot,
    trigger: input.trigger,
    status: 'Pending',
    stages: STAGES.map((name): StageState => ({ name, status: 'pending', usage: emptyUsage(), calls: [] })),
    usage: emptyUsage(),
    offline: false,
    createdAt: input.requestedAt ?? now(),
    context: input.context,
    events: [],
  };
  setHandler(runStateQuery, () => state);

  const event = (type: string, message: string, stage?: StageName) => {
    const seq = (state.events.at(-1)?.seq ?? 0) + 1;
    state.events.push({ seq, at: now(), type, stage, message });
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  };

  const publish = () => {
    upsertSearchAttributes([
      { key: McStatus, value: state.status },
      { key: McStage, value: state.currentStage ?? 'none' },
    ]);
    const memo: RunMemo = {
      task: state.task.slice(0, 500),
      robotName: state.robot.name,
      status: state.status,
      currentStage: state.currentStage,
      stageStatus: Object.fromEntries(state.stages.map((s) => [s.name, s.status])) as Record<StageName, StageStatus>,
      usage: state.usage,
      offline: state.offline,
      error: state.error,
      interruptedStage: state.interruptedStage,
    };
    upsertMemo({ run: memo });
  };

  const setStatus = (status: RunStatus, message: string) => {
    state.status = status;
    event(`run.${status.toLowerCase()}`, message, state.currentStage);
    publish();
  };

  const opts = input.options ?? {};
  const activities = proxyActivities<StageActivities>({
    startToCloseTimeout: `${opts.stageTimeoutSeconds ?? 600}s`,
    // Stages heartbeat every second; a worker that dies is noticed within this window.
    heartbeatTimeout: '10s',
    // The run is marked Cancelled at once; the activity learns through its heartbeat and aborts its model call.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: {
      initialInterval: opts.retryInitialIntervalMs ?? 1000,
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: opts.stageMaxAttempts ?? 3,
    },
  });

  upsertSearchAttributes([
    { key: McRobotId, value: input.robot.id },
    { key: McTrigger, value: input.trigger },
  ]);
  const context: Partial<Record<StageName, unknown>> = {};
  let current: StageState | undefined;
  let holdsSlot = false;
  try {
    if (input.concurrencyLimit) {
      // Stays Pending until the robot's semaphore grants a slot; a cancel while waiting withdraws the request.
      holdsSlot = true;
      event('run.waiting', `Waiting for a concurrency slot (limit ${input.concurrencyLimit})`);
      publish();
      await acquireRobotSlot(input.robot.id, input.concurrencyLimit);
      event('run.slot', 'Concurrency slot granted');
    }
    state.startedAt = now();
    setStatus('Running', `Run started by ${input.trigger}`);

    for (const stage of state.stages) {
      current = stage;
      state.currentStage = stage.name;
      stage.status = 'running';
      stage.startedAt = now();
      event('stage.started', `${stage.name} started`, stage.name);
      publish();

      const started = Date.now();
      const result = await activities[STAGE_ACTIVITY[stage.name]]({
        runId: state.runId,
        stage: stage.name,
        task: input.task,
        robot: input.robot,
        context,
        runContext: input.context,
      });
      context[stage.name] = result.output;
      stage.output = result.output;
      stage.summary = result.summary;
      stage.calls = result.calls;
      stage.usage = addCalls(emptyUsage(), result.calls);
      state.usage = addCalls(state.usage, result.calls);
      state.offline ||= result.calls.some((c) => c.offline);
      stage.status = 'done';
      stage.finishedAt = now();
      stage.durationMs = Date.now() - started;
      event('stage.completed', `${stage.name} done: ${result.summary}`, stage.name);
    }
    state.result = context.delivery;
    state.finishedAt = now();
    setStatus('Done', 'Run completed');
    return state;
  } catch (err) {
    state.finishedAt = now();
    if (current) {
      current.finishedAt = now();
      current.durationMs = Date.parse(current.finishedAt) - Date.parse(current.startedAt ?? current.finishedAt);
    }
    for (const s of state.stages) if (s.status === 'pending') s.status = 'skipped';
    if (isCancellation(err)) {
      if (current) current.status = 'cancelled';
      state.interruptedStage = current?.name;
      setStatus('Cancelled', `Run cancelled during ${current?.name ?? 'start'}`);
      throw err;
    }
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
    const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : cause.name;
    if (current) {
      current.status = 'failed';
      current.error = cause.message;
    }
    state.error = { stage: current?.name, type, message: cause.message };
    setStatus('Failed', `Run failed in ${current?.name ?? 'start'}: ${cause.message}`);
    throw ApplicationFailure.create({
      message: `Stage ${current?.name ?? 'unknown'} failed: ${cause.message}`,
      type: 'StageFailed',
      nonRetryable: true,
      cause: err as Error,
    });
  } finally {
    if (holdsSlot) await CancellationScope.nonCancellable(() => releaseRobotSlot(input.robot.id));
  }
}
