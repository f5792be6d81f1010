/**
 * robotRunWorkflow: one run of a robot through Inspiration → Goals → Tasks → Validation → Delivery, with people in
 * control: an optional Robot Host conversation before the pipeline, approval gates before any stage and after
 * Delivery is formatted (`final`, before it takes effect), bounded revisions, gate deadlines with a timeout
 * policy, and budget gates before a model call that would overspend.
 *
 * Deterministic orchestration only: every stage, host turn and notification is an activity (all I/O lives
 * there), and the Tasks stage's graph of node activities is scheduled here (./dag-executor.ts); this code keeps the run's state, mirrors it into search attributes and memo so runs can be listed
 * and shown without a worker, and turns cancellation, rejection and stage failures into a final status.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StageActivities } from '../activities/stages';
import type { Delivery } from '../activities/stages/delivery';
import { decideUpdate, decisionSignal, hostConfirmUpdate, hostMessageUpdate, INVALID_DECISION, runStateQuery, STALE_DECISION } from '../contracts/messages';
import { DagExecutor } from './dag-executor';
import { now, RunRecorder } from './run/recorder';
import { invalidDecision, staleDecision } from './run/decisions';
import { Gates, RunRejected } from './run/gates';
import { RunBudget } from './run/budget';
import { runActivityOptions } from './activity-options';
import { budgetRefusal, failureCause } from './activity-failures';
import { acquireRobotSlot, releaseRobotSlot } from './robot-slots';
import { McRobotId, McStage, McStatus, McTrigger } from '../contracts/search-attributes';
import { ApprovalRecord, BUDGET_EXCEEDED, BudgetAllowance, BudgetExceededDetails, BudgetSettings, CallerChannel, DecisionChannel, DecisionInput, GateName, GatePoint, GateSettings, HostMessageInput, HostState, PendingGate } from '../contracts/gates';
import { addCalls, emptyUsage, ModelCallRecord, RunStatus, STAGES, StageName, StageStatus } from '../contracts/pipeline';
import { RunInput, RunMemo, RunState, StageState } from '../contracts/run';

/**
 * Activity type name of each stage, as it shows in the Temporal Web UI and `temporal workflow show`. The Tasks
 * stage is `planDag` followed by one `runDagNode` / `validateDagNode` (or `runDesktopNode`) per node.
 */
export const STAGE_ACTIVITY: Record<Exclude<StageName, 'tasks'>, Exclude<keyof StageActivities, 'deliverResult'>> = {
  inspiration: 'inspirationStage',
  goals: 'goalsStage',
  validation: 'validationStage',
  delivery: 'deliveryStage',
};

const MAX_EVENTS = 500;
const DEFAULT_HOST_TURNS = 4;

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
  const run = new RunRecorder(input);
  const state = run.state;
  const gates = new Gates(input, run);
  const budget = new RunBudget(input, run, gates);

  // ---- Activities -------------------------------------------------------------------------------------------

  const options = runActivityOptions(input.options);
  const activities = proxyActivities<Activities>(options.stage);
  const quick = proxyActivities<Activities>(options.quick);

  // Registers the per-node updates (cancelNode, retryNode, approveNode) before the first await. The graph bills
  // its calls into the Tasks stage as they happen and goes through the budget gate from inside (see dag-executor.ts).
  const tasksStage = state.stages[STAGES.indexOf('tasks')];
  const dag = new DagExecutor({
    input,
    state,
    now,
    event: (type, message) => run.event(type, message, 'tasks'),
    publish: () => run.publish(),
    setStatus: (status, message) => run.setStatus(status, message),
    budget: {
      allowance: () => budget.allowance(),
      estimate: () => budget.estimate(),
      ensure: (refused, subject) => budget.ensure(tasksStage, refused, subject),
    },
    bill: (calls, step) => budget.bill(tasksStage, calls, step),
  });

  // ---- Pipeline ---------------------------------------------------------------------------------------------

  const context: Partial<Record<StageName, unknown>> = {};
  const feedback: Partial<Record<StageName, string[]>> = {};
  let task = input.task;
  let current: StageState | undefined;

  const runStage = async (stage: StageState) => {
    current = stage;
    state.currentStage = stage.name;
    if (stage.status === 'done' || stage.output !== undefined) stage.revisions = (stage.revisions ?? 0) + 1;
    stage.status = 'running';
    stage.startedAt = now();
    run.event('stage.started', `${stage.name} started${stage.revisions ? ` (revision ${stage.revisions})` : ''}`, stage.name);
    run.publish();
    const started = Date.now();
    if (stage.name === 'tasks') {
      // The task graph: nodes run as their dependencies finish. It bills its calls into this stage and the run as
      // they happen (graph.calls are those same calls) and stops at the budget gate before an overspending one.
      const goals = (context.goals as { goals: { id: string; title: string; deliverable: string }[] }).goals;
      const graph = await dag.run(goals, { task, feedback: feedback.tasks });
      context.tasks = graph.output;
      stage.output = graph.output;
      stage.summary = graph.summary;
      stage.durationMs = Date.now() - started;
      stage.status = 'done';
      stage.finishedAt = now();
      run.event('stage.completed', `tasks done: ${graph.summary}`, stage.name);
      current = undefined;
      return;
    }
    const result = await budget.withBudget(stage, (budget, resumeFrom) =>
      activities[STAGE_ACTIVITY[stage.name as Exclude<StageName, 'tasks'>]]({
        runId: state.runId,
        stage: stage.name,
        task,
        robot: input.robot,
        context,
        runContext: input.context,
        feedback: feedback[stage.name],
        budget,
        resumeFrom,
      }),
    );
    context[stage.name] = result.output;
    stage.output = result.output;
    stage.summary = result.summary;
    budget.bill(stage, result.calls);
    stage.durationMs = Date.now() - started;
    if (stage.name === 'delivery') {
      // Done only once it has taken effect (after the final gate, if any).
      run.event('stage.formatted', `delivery formatted: ${result.summary}`, stage.name);
      return;
    }
    stage.status = 'done';
    stage.finishedAt = now();
    run.event('stage.completed', `${stage.name} done: ${result.summary}`, stage.name);
    current = undefined;
  };

  /** Robot Host: clarify the task with the person until they confirm it. */
  let hostReplies = 0;
  let confirmed = false;
  const inbox: string[] = [];

  setHandler(
    hostMessageUpdate,
    async (m: { text: string; by?: string }) => {
      const host = state.host as NonNullable<RunState['host']>;
      host.transcript.push({ role: 'person', text: m.text.trim(), at: now() });
      run.event('host.answer', `${m.by?.trim() || 'person'}: ${m.text.trim().slice(0, 200)}`);
      inbox.push(m.text.trim());
      const seen = hostReplies;
      await condition(() => hostReplies > seen || run.finished);
      return state;
    },
    {
      validator: (m) => {
        const shape = HostMessageInput.safeParse(m);
        if (!shape.success) throw invalidDecision(shape.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; '));
        if (!run.inHost() || run.finished || state.host?.status === 'thinking') {
          throw staleDecision(state.host?.status === 'thinking' ? 'the host is still thinking' : 'the run has no host conversation going on');
        }
      },
    },
  );

  setHandler(
    hostConfirmUpdate,
    async (c: { by?: string }) => {
      confirmed = true;
      run.event('host.confirm', `${c?.by?.trim() || 'person'} confirmed the task`);
      await condition(() => state.host?.status === 'confirmed' || run.finished);
      return state;
    },
    {
      validator: (_c: { by?: string }) => {
        if (!run.inHost() || run.finished || state.host?.status !== 'confirming' || confirmed) {
          throw staleDecision(
            state.host?.status === 'confirmed'
              ? 'the task was already confirmed'
              : state.host
                ? 'the host has not stated a task to confirm yet'
                : 'the run has no host conversation',
          );
        }
      },
    },
  );

  const converse = async () => {
    const host: HostState = { status: 'thinking', transcript: [], turns: 0 };
    state.host = host;
    run.event('host.started', 'The Robot Host is clarifying the task');
    run.publish();
    const maxTurns = input.host?.maxTurns ?? DEFAULT_HOST_TURNS;
    for (;;) {
      host.status = 'thinking';
      const { turn, calls } = await budget.withBudget(undefined, (budget) =>
        activities.hostTurn({
          runId: state.runId,
          task: input.task,
          robot: input.robot,
          transcript: host.transcript,
          mustSettle: host.turns + 1 >= maxTurns,
          budget,
        }),
      );
      budget.bill(undefined, calls);
      host.turns++;
      if (!turn.satisfied) {
        const question = (turn.questions ?? []).join('\n');
        host.transcript.push({ role: 'host', text: question, at: now() });
        host.status = 'asking';
        run.event('host.question', question.slice(0, 300));
      } else {
        host.confirmedTask = turn.confirmedTask ?? input.task;
        host.transcript.push({ role: 'host', text: `This is the task as I understand it:\n${host.confirmedTask}\nConfirm to start.`, at: now() });
        host.status = 'confirming';
        run.event('host.stated', `Task stated for confirmation: ${host.confirmedTask.slice(0, 300)}`);
      }
      hostReplies++;
      run.publish();
      await condition(() => inbox.length > 0 || (host.status === 'confirming' && confirmed));
      if (host.status === 'confirming' && confirmed) break;
      inbox.splice(0); // the answers are in the transcript the next turn reads
    }
    host.status = 'confirmed';
    task = host.confirmedTask ?? input.task;
    run.event('host.confirmed', `Task confirmed: ${task.slice(0, 300)}`);
  };

  run.announce(input);

  let holdsSlot = false;
  try {
    // Schedules never have anyone to talk to: the host is for manually assigned tasks.
    if (input.host?.enabled && input.trigger !== 'schedule') {
      await converse();
    }
    if (input.concurrencyLimit) {
      // Stays Pending until the robot's semaphore grants a slot (taken after the host conversation, so a person
      // typing holds no slot); a cancel while waiting withdraws the request.
      holdsSlot = true;
      run.event('run.waiting', `Waiting for a concurrency slot (limit ${input.concurrencyLimit})`);
      run.publish();
      await acquireRobotSlot(input.robot.id, input.concurrencyLimit);
      run.event('run.slot', 'Concurrency slot granted');
    }
    state.startedAt = now();
    run.setStatus('Running', `Run started by ${input.trigger}`);

    let i = 0;
    while (i <= STAGES.length) {
      if (i === STAGES.length) {
        const back = await gates.atPoint('final');
        if (back) {
          (feedback[back.stage] ??= []).push(back.feedback);
          i = STAGES.indexOf(back.stage);
          continue;
        }
        break;
      }
      const back = await gates.atPoint(STAGES[i]);
      if (back) {
        (feedback[back.stage] ??= []).push(back.feedback);
        i = STAGES.indexOf(back.stage);
        continue;
      }
      await runStage(state.stages[i]);
      i++;
    }

    const deliveryStage = state.stages[STAGES.length - 1];
    current = deliveryStage;
    state.currentStage = 'delivery';
    const delivered = await quick.deliverResult(context.delivery as Delivery);
    deliveryStage.output = delivered;
    deliveryStage.status = 'done';
    deliveryStage.finishedAt = now();
    run.event('stage.completed', `delivery done: ${delivered.destinations.map((d) => `${d.type} ${d.status}`).join(', ')}`, 'delivery');
    current = undefined;
    state.result = delivered;
    state.finishedAt = now();
    run.setStatus('Done', 'Run completed');
    await run.close();
    return state;
  } catch (err) {
    state.finishedAt = now();
    const gate = state.gate;
    state.gate = undefined;
    if (current && current.status === 'running') {
      current.finishedAt = now();
      current.durationMs = Date.parse(current.finishedAt) - Date.parse(current.startedAt ?? current.finishedAt);
    }
    for (const s of state.stages) if (s.status === 'pending') s.status = 'skipped';
    if (isCancellation(err)) {
      if (current?.status === 'running') current.status = 'cancelled';
      state.interruptedStage = current?.status === 'cancelled' ? current.name : undefined;
      const where = gate ? `at the ${gate.gate} gate` : run.inHost() ? 'during the host conversation' : `during ${current?.name ?? 'start'}`;
      run.setStatus('Cancelled', `Run cancelled ${where}`);
      await run.close();
      throw err;
    }
    if (err instanceof RunRejected) {
      if (current?.status === 'running') current.status = 'failed';
      state.error = { stage: err.gate === 'final' || err.gate === 'budget' ? current?.name : err.gate, type: 'Rejected', message: err.message };
      run.event('gate.rejected', `Rejected at the ${err.gate} gate: ${err.message}`, state.currentStage);
      run.setStatus('Failed', `Run rejected at the ${err.gate} gate: ${err.message}`);
      await run.close();
      throw ApplicationFailure.create({ message: `Rejected at the ${err.gate} gate: ${err.message}`, type: 'Rejected', nonRetryable: true });
    }
    const cause = failureCause(err);
    const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : cause.name;
    if (current) {
      current.status = 'failed';
      current.error = cause.message;
    }
    state.error = { stage: current?.name, type, message: cause.message };
    run.setStatus('Failed', `Run failed in ${current?.name ?? 'start'}: ${cause.message}`);
    await run.close();
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
