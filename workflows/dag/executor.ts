/**
 * The Tasks stage inside the workflow: plan (an activity), then run the graph, one activity per node.
 *
 * Start-when-ready, not waves: after every change (a node finishing, a person's decision) the executor starts
 * every pending node whose dependencies are all done, up to `dagParallelism` nodes at once. A node that fails
 * after its Temporal retries marks its dependants skipped while independent branches go on; when nothing is left
 * to run, `onNodeFailure` decides: `fail` the stage, `continue` with the partial result, or `wait` (status
 * Review) until a person retries the failed nodes.
 *
 * Each node runs in its own cancellation scope, so one node can be cancelled (update `cancelNode`, dag/control.ts)
 * without touching its siblings; a run cancel reaches every node through the root scope. Command nodes (desktop
 * tools) run on their desktop's task queue and, unless the plan says otherwise, first wait for `approveNode`.
 * Budget: each model-calling activity runs under a grant of the run's budget (dag/grants.ts).
 *
 * History: a node costs about a dozen events (run, validation, workflow tasks), so the planner's node limit
 * (MC_DAG_MAX_NODES, at most 200) keeps a whole graph around 3,000 events and a few MB — far inside one history
 * (50k events / 50 MB), which is why the graph runs in this workflow rather than in child workflows or across
 * continue-as-new. Graphs larger than that limit are refused by the planner, never half-run. Payload sizes are
 * kept small too (dag/outputs.ts).
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import type { StageResult } from '../../contracts/activities';
import { DagNodeState, TasksOutput } from '../../contracts/dag';
import { emptyUsage } from '../../contracts/pipeline';
import { failureCause } from '../activity-failures';
import { now } from '../clock';
import { NodeControl } from './control';
import { BudgetGrants } from './grants';
import { Graph } from './graph';
import { NodeRunner } from './nodes';
import { collectResult, stageResult, updateSummary } from './outputs';
import type { RunPort } from './port';

export class DagExecutor {
  private readonly graph: Graph;
  private readonly grants: BudgetGrants;
  private readonly nodes: NodeRunner;
  /** Bumped each time a node starts, so that only its latest run may settle it (a retry starts a new one). */
  private readonly generation = new Map<string, number>();

  /** Registers the per-node updates (dag/control.ts): build it before the run's first await. */
  constructor(run: RunPort) {
    this.graph = new Graph(run);
    this.grants = new BudgetGrants(this.graph);
    this.nodes = new NodeRunner(this.graph, this.grants);
    new NodeControl(this.graph);
  }

  /** Run the Tasks stage: plan, execute, and return the stage result. */
  async run(
    goals: { id: string; title: string; deliverable: string }[],
    extra: { task?: string; feedback?: string[] } = {},
  ): Promise<StageResult<TasksOutput>> {
    const { graph } = this;
    const { input, recorder } = graph.run;
    const state = recorder.state;
    const opts = input.options ?? {};
    // A revision runs the stage again from a clean slate (the earlier graph stays in the events).
    graph.clear(extra.task ?? input.task);
    this.grants.clear();
    // Under a budget, planning waits at the budget gate first when the run is expected to overspend.
    const plan = await this.grants.budgeted(undefined, 'the planner', true, (budget) =>
      this.nodes.acts.planDag({
        feedback: extra.feedback,
        task: graph.task,
        robot: input.robot,
        goals,
        supplied: input.dag,
        desktopQueue: opts.desktopQueue,
        // Approval of command nodes comes from the robot's definition or the caller, never from the graph.
        commands: input.approvals?.commands,
        budget,
      }),
    );
    state.dag = {
      nodes: plan.nodes.map((n) => ({ ...n, status: 'pending', runs: 0, usage: emptyUsage(), validation: [] })),
      parallelism: Math.max(1, opts.dagParallelism ?? 8),
      onNodeFailure: opts.onNodeFailure ?? 'fail',
      summary: '',
      plannerRepairs: plan.repairs,
      plannedAt: now(),
    };
    graph.event(
      'dag.planned',
      `${plan.source === 'supplied' ? 'supplied graph' : 'planned graph'} of ${plan.nodes.length} node(s)${plan.repairs ? ` after ${plan.repairs} repair(s)` : ''}`,
    );
    recorder.publish();
    graph.open = true;
    try {
      await this.execute();
    } catch (err) {
      // Run cancelled, or the run ends here (a budget gate rejected): nothing of the graph goes on.
      const why = isCancellation(err) ? 'run cancelled' : `run stopped: ${(err as Error).message}`;
      for (const n of state.dag.nodes) {
        if (!['pending', 'running', 'waiting'].includes(n.status)) continue;
        graph.scopes.get(n.id)?.cancel();
        graph.finish(n, 'cancelled', why);
      }
      throw err;
    } finally {
      graph.open = false;
      state.dag.finishedAt = now();
    }
    return stageResult(graph);
  }

  private async execute(): Promise<void> {
    const { graph } = this;
    const dag = graph.dag!;
    for (;;) {
      this.skipBlocked();
      // Nothing new starts while an activity waits for budget (and so while the run waits at the budget gate).
      if (!this.grants.blocking) this.startReady();
      graph.refreshStatus();
      const active = dag.nodes.some((n) => n.status === 'running' || n.status === 'waiting' || n.status === 'pending');
      if (!active) {
        const failed = dag.nodes.filter((n) => n.status === 'failed');
        if (failed.length === 0 || dag.onNodeFailure !== 'wait') return this.finishGraph(failed);
        dag.awaitingRetry = true;
        graph.refreshStatus(`waiting for a retry of failed node(s) ${failed.map((n) => n.id).join(', ')}`);
      }
      graph.changed = false;
      // May wait at the budget gate (nothing else starts meanwhile; a rejection ends the run). Without a budget
      // there is nothing to serve: no await (see run/pipeline.ts on promises).
      if (this.graph.run.budget.allowance()) await this.grants.serve();
      await condition(() => graph.changed);
      dag.awaitingRetry = false;
    }
  }

  private finishGraph(failed: DagNodeState[]): void {
    collectResult(this.graph);
    if (failed.length && this.graph.dag!.onNodeFailure === 'fail') {
      throw ApplicationFailure.create({
        message: `${failed.length} node(s) failed: ${failed.map((n) => `${n.id}: ${n.error}`).join('; ')}`,
        type: 'NodeFailed',
        nonRetryable: true,
      });
    }
  }

  /** Pending nodes behind a failed, cancelled or skipped dependency are skipped (to a fixed point). */
  private skipBlocked(): void {
    const { graph } = this;
    let again = true;
    while (again) {
      again = false;
      for (const n of graph.dag!.nodes) {
        if (n.status !== 'pending') continue;
        const blocker = n.dependsOn.map((d) => graph.node(d)!).find((d) => d.status === 'failed' || d.status === 'cancelled' || d.status === 'skipped');
        if (blocker) {
          n.status = 'skipped';
          n.error = `skipped: depends on ${blocker.id}, which ${blocker.status === 'skipped' ? 'was skipped' : blocker.status}`;
          again = true;
        }
      }
    }
  }

  private startReady(): void {
    const { graph } = this;
    const dag = graph.dag!;
    let running = dag.nodes.filter((n) => n.status === 'running').length;
    for (const n of dag.nodes) {
      if (running >= dag.parallelism) return;
      if (n.status !== 'pending' || !n.dependsOn.every((d) => graph.node(d)!.status === 'done')) continue;
      running++;
      this.start(n);
    }
  }

  private start(n: DagNodeState): void {
    const { graph } = this;
    n.status = 'running';
    n.startedAt = now();
    n.runs++;
    graph.event('node.started', `node ${n.id} started (${n.kind})`);
    const scope = new CancellationScope();
    graph.scopes.set(n.id, scope);
    const gen = (this.generation.get(n.id) ?? 0) + 1;
    this.generation.set(n.id, gen);
    const current = () => this.generation.get(n.id) === gen && (n.status === 'running' || n.status === 'waiting');
    scope
      .run(() => this.nodes.run(n))
      .then(
        () => {
          if (!current()) return;
          graph.finish(n, 'done');
          graph.finishedOrder.push(n.id);
          updateSummary(graph);
          graph.event('node.completed', `node ${n.id} done`);
        },
        (err) => {
          // A person's cancel has already settled the node (and a retry may have reset it since).
          if (!current()) return;
          if (graph.cancelRequested.has(n.id)) return graph.finish(n, 'cancelled', 'cancelled by a person');
          if (isCancellation(err)) {
            graph.finish(n, 'cancelled', 'run cancelled');
            return;
          }
          const cause = failureCause(err);
          graph.finish(n, 'failed', cause.message);
          graph.event('node.failed', `node ${n.id} failed: ${cause.message}`);
        },
      )
      .finally(() => {
        if (graph.scopes.get(n.id) === scope) graph.scopes.delete(n.id);
        graph.changed = true;
      });
  }
}
