/**
 * The five stages in order, each behind its gate point, and the final gate before Delivery takes effect. A
 * `revise` at a gate sends the run back to the stage before it, with the reviewer's feedback. Every stage but
 * Tasks is one stage activity under the run's budget; Tasks is the task graph (dag/executor.ts).
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { StageActivities } from '../../activities/stages';
import type { Delivery } from '../../activities/stages/delivery';
import { isClaimCheck } from '../../contracts/artifacts';
import { STAGES, StageName } from '../../contracts/pipeline';
import type { RunInput, StageState } from '../../contracts/run';
import { runActivityOptions } from '../activity-options';
import type { DagExecutor } from '../dag/executor';
import { RunBudget } from './budget';
import { Gates } from './gates';
import { now } from '../clock';
import { DELIVERY_PATCH, deliverToDestinations, recordArtifacts } from './delivery';
import { RunRecorder } from './recorder';

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

export class Pipeline {
  /** The task as confirmed (the Robot Host may restate it). */
  task: string;
  /** The stage running (or, for Delivery, formatted and not yet delivered): where a failure or a cancel happened. */
  current: StageState | undefined;
  /** Outputs of the stages so far, handed to the next ones. */
  private readonly context: Partial<Record<StageName, unknown>> = {};
  /** Reviewers' feedback per stage (revise decisions), oldest first. */
  private readonly feedback: Partial<Record<StageName, string[]>> = {};
  private readonly activities: Activities;
  private readonly quick: Activities;

  constructor(
    private readonly input: RunInput,
    private readonly run: RunRecorder,
    private readonly gates: Gates,
    private readonly budget: RunBudget,
    private readonly graph: DagExecutor,
  ) {
    this.task = input.task;
    const options = runActivityOptions(input.options);
    this.activities = proxyActivities<Activities>(options.stage);
    this.quick = proxyActivities<Activities>(options.quick);
  }

  /** Every stage behind its gate, then the final gate; returns with Delivery formatted and approved. */
  async runStages(): Promise<void> {
    let i = 0;
    while (i <= STAGES.length) {
      // Awaited only where there is a gate. The SDK records a stack trace for every promise a workflow creates
      // (for the Temporal UI's stack-trace view), which made awaits that wait for nothing a measurable part of
      // the worker's time per run (docs/benchmarks.md, "Profile"). Skipping them changes no command.
      const waiting = this.gates.atPoint(i === STAGES.length ? 'final' : STAGES[i]);
      const back = waiting && (await waiting);
      if (back) {
        (this.feedback[back.stage] ??= []).push(back.feedback);
        i = STAGES.indexOf(back.stage);
        continue;
      }
      if (i === STAGES.length) break;
      await this.runStage(this.run.state.stages[i]);
      i++;
    }
  }

  private async runStage(stage: StageState): Promise<void> {
    const { input, run, context, feedback } = this;
    const state = run.state;
    this.current = stage;
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
      const graph = await this.graph.run(goals, { task: this.task, feedback: feedback.tasks });
      context.tasks = graph.output;
      stage.output = graph.output;
      stage.summary = graph.summary;
      stage.durationMs = Date.now() - started;
      stage.status = 'done';
      stage.finishedAt = now();
      run.event('stage.completed', `tasks done: ${graph.summary}`, stage.name);
      this.current = undefined;
      return;
    }
    const result = await this.budget.withBudget(stage, (allowance, resumeFrom) =>
      this.activities[STAGE_ACTIVITY[stage.name as Exclude<StageName, 'tasks'>]]({
        runId: state.runId,
        stage: stage.name,
        task: this.task,
        robot: input.robot,
        context,
        runContext: input.context,
        feedback: feedback[stage.name],
        budget: allowance,
        resumeFrom,
      }),
    );
    context[stage.name] = result.output;
    stage.output = result.output;
    // An output too large for history was kept in the artifact store: the run lists it.
    if (isClaimCheck(result.output)) recordArtifacts(state, [result.output.claimCheck]);
    stage.summary = result.summary;
    this.budget.bill(stage, result.calls);
    stage.durationMs = Date.now() - started;
    if (stage.name === 'delivery') {
      // Done only once it has taken effect (after the final gate, if any).
      run.event('stage.formatted', `delivery formatted: ${result.summary}`, stage.name);
      return;
    }
    stage.status = 'done';
    stage.finishedAt = now();
    run.event('stage.completed', `${stage.name} done: ${result.summary}`, stage.name);
    this.current = undefined;
  }

  /**
   * Delivery takes effect: the formatted result goes to the robot's destinations (run/delivery.ts), each its own
   * activity. Runs recorded before destinations existed replay the old single `deliverResult` step.
   */
  async deliver(): Promise<void> {
    const state = this.run.state;
    const deliveryStage = this.run.stage('delivery');
    this.current = deliveryStage;
    state.currentStage = 'delivery';
    if (!patched(DELIVERY_PATCH)) {
      const delivered = await this.quick.deliverResult(this.context.delivery as Delivery);
      deliveryStage.output = delivered;
      deliveryStage.status = 'done';
      deliveryStage.finishedAt = now();
      this.run.event('stage.completed', `delivery done: ${delivered.destinations.map((d) => `${d.type} ${d.status}`).join(', ')}`, 'delivery');
      this.current = undefined;
      state.result = delivered;
      return;
    }
    const formatted = this.context.delivery;
    const outcomes = await deliverToDestinations(this.input, this.run, this.task, formatted);
    const destinations: Delivery['destinations'] = [
      { type: 'run', status: 'delivered' },
      ...outcomes.map((o) => ({ type: o.type, status: o.status, detail: o.error ?? o.target })),
    ];
    const delivered: Delivery = isClaimCheck(formatted)
      ? { format: 'markdown', content: formatted.preview, contentArtifact: formatted.claimCheck.name, destinations }
      : { ...(formatted as Delivery), destinations };
    deliveryStage.output = isClaimCheck(formatted) ? formatted : delivered;
    deliveryStage.status = 'done';
    deliveryStage.finishedAt = now();
    this.run.event('stage.completed', `delivery done: ${destinations.map((d) => `${d.type} ${d.status}`).join(', ')}`, 'delivery');
    this.current = undefined;
    state.result = delivered;
  }
}
