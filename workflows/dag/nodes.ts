/**
 * One node's run: a command node first waits for a person's approval; then the node activity (on the worker's
 * queue, or on its desktop's queue for command nodes) and, unless turned off, its validator, which may send the
 * node back with feedback a bounded number of times. Every activity runs under the run's budget (dag/grants.ts).
 */
import { ApplicationFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { DagActivities, DesktopActivities } from '../../activities/dag';
import { DagNodeState, isModelKind, PlannedNode } from '../../contracts/dag';
import { nodeActivityOptions } from '../activity-options';
import { now } from '../clock';
import type { Graph } from './graph';
import type { BudgetGrants } from './grants';
import { cut, inputsOf, OUTPUT_PREVIEW_CHARS } from './outputs';

/** What a node's state adds to its planned spec (not handed to the node activity). */
const STATE_FIELDS = ['status', 'startedAt', 'finishedAt', 'durationMs', 'runs', 'model', 'reason', 'usage', 'output', 'outputChars', 'truncated', 'error', 'validation', 'ranOn', 'approval'] as const;

export class NodeRunner {
  /** The graph's activities on the run's task queue: planner, node, node validator. */
  readonly acts: DagActivities;
  private readonly desktops = new Map<string, DesktopActivities>();

  constructor(
    private readonly graph: Graph,
    private readonly grants: BudgetGrants,
  ) {
    this.acts = proxyActivities<DagActivities>(nodeActivityOptions(graph.run.input.options));
  }

  private desktop(taskQueue: string): DesktopActivities {
    let acts = this.desktops.get(taskQueue);
    if (!acts) {
      acts = proxyActivities<DesktopActivities>(nodeActivityOptions(this.graph.run.input.options, taskQueue));
      this.desktops.set(taskQueue, acts);
    }
    return acts;
  }

  async run(n: DagNodeState): Promise<void> {
    const { graph, grants } = this;
    const { input, recorder } = graph.run;
    const opts = input.options ?? {};
    const spec: PlannedNode = { ...n };
    for (const k of STATE_FIELDS) delete (spec as Partial<DagNodeState>)[k];
    if (n.placement.on === 'desktop' && n.requiresApproval !== false) {
      n.status = 'waiting';
      graph.event('node.waiting', `node ${n.id} waits for approval to run ${JSON.stringify(n.args ?? {})} on ${n.placement.taskQueue}`);
      graph.refreshStatus();
      await condition(() => graph.decisions.has(n.id));
      const d = graph.decisions.get(n.id)!;
      if (d.decision === 'reject') {
        throw ApplicationFailure.create({ message: `rejected by a person${d.feedback ? `: ${d.feedback}` : ''}`, type: 'NodeRejected', nonRetryable: true });
      }
      n.status = 'running';
      n.startedAt = now();
      graph.refreshStatus();
    }
    const validate = opts.validateNodes ?? true;
    const maxRevisions = opts.maxNodeRevisions ?? 1;
    let feedback: string | undefined;
    for (let round = 0; ; round++) {
      const req = { runId: recorder.state.runId, task: graph.task, robot: input.robot, node: spec, inputs: inputsOf(graph, n), feedback };
      // Tool and command nodes call no model: they need no budget (their validation does).
      const result = await grants.budgeted(n, `node ${n.id}`, isModelKind(n.kind), (budget) =>
        n.placement.on === 'desktop'
          ? this.desktop(n.placement.taskQueue).runDesktopNode({ ...req, budget })
          : this.acts.runDagNode({ ...req, budget }),
      );
      graph.outputs.set(n.id, result.output);
      n.output = cut(result.output, OUTPUT_PREVIEW_CHARS);
      n.outputChars = result.outputChars;
      n.truncated = result.truncated;
      n.model = result.model;
      n.reason = result.reason;
      n.ranOn = result.ranOn;
      if (!validate) return;
      const check = await grants.budgeted(n, `node ${n.id}'s validator`, true, (budget) =>
        this.acts.validateDagNode({ runId: recorder.state.runId, task: graph.task, robot: input.robot, node: spec, output: result.output, budget }),
      );
      n.validation.push({ round, ...check.verdict });
      if (check.verdict.passed || round >= maxRevisions) return;
      feedback = check.verdict.feedback;
      n.runs++;
      graph.event('node.revised', `node ${n.id} sent back by its validator: ${feedback}`);
    }
  }
}
