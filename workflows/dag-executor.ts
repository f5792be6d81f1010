/**
 * The Tasks stage inside the workflow: plan (an activity), then run the graph, one activity per node.
 *
 * Start-when-ready, not waves: after every change (a node finishing, a person's decision) the executor starts
 * every pending node whose dependencies are all done, up to `dagParallelism` nodes at once. A node that fails
 * after its Temporal retries marks its dependants skipped while independent branches go on; when nothing is left
 * to run, `onNodeFailure` decides: `fail` the stage, `continue` with the partial result, or `wait` (status
 * Review) until a person retries the failed nodes.
 *
 * Each node runs in its own cancellation scope, so one node can be cancelled (update `cancelNode`) without
 * touching its siblings; a run cancel reaches every node through the root scope. Command nodes (desktop tools)
 * run on their desktop's task queue and, unless the plan says otherwise, first wait for `approveNode`.
 *
 * Size: node outputs are capped by the node activity (MC_NODE_OUTPUT_MAX_CHARS); the inputs a node receives
 * are cut to MAX_NODE_INPUT_CHARS in total and the Tasks stage output to MAX_STAGE_OUTPUT_CHARS, so no payload
 * nears Temporal's 2 MB limit; the run state keeps only a preview of each output. History: a node costs about a
 * dozen events (run, validation, workflow tasks), so the planner's node limit (MC_DAG_MAX_NODES, at most 200)
 * keeps a whole graph around 3,000 events and a few MB — far inside one history (50k events / 50 MB), which is
 * why the graph runs in this workflow rather than in child workflows or across continue-as-new. Graphs larger
 * than that limit are refused by the planner, never half-run.
 */
import {
  ActivityCancellationType,
  ActivityOptions,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { DagActivities, DesktopActivities } from '../activities/dag';
import { DagNodeState, DagState, dependantsOf, NodeStatus, PlannedNode, sinks, TaskOutcome, TasksOutput } from './dag';
import { addCalls, emptyUsage, ModelCallRecord, RunInput, RunState, RunStatus, StageResult } from './types';

/** Total characters of dependency outputs handed to one node. */
export const MAX_NODE_INPUT_CHARS = 32_000;
/** Total characters of node results in the Tasks stage output (read by Validation and Delivery). */
export const MAX_STAGE_OUTPUT_CHARS = 400_000;
/** Characters of each node output kept in the run state. */
export const OUTPUT_PREVIEW_CHARS = 500;

export interface NodeControlResult {
  nodeId: string;
  status: NodeStatus;
}

/** Cancel one node: running, pending or waiting. Its dependants are skipped; the rest of the graph goes on. */
export const cancelNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string }]>('cancelNode');
/** Run a failed or cancelled node again (its skipped dependants become pending again). */
export const retryNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string }]>('retryNode');
/** Decide on a node waiting for approval (command nodes). Rejecting fails the node. */
export const approveNodeUpdate = defineUpdate<NodeControlResult, [{ nodeId: string; decision: 'approve' | 'reject'; feedback?: string }]>(
  'approveNode',
);

/** What the executor needs from the run workflow. */
export interface DagHost {
  input: RunInput;
  state: RunState;
  now(): string;
  event(type: string, message: string): void;
  publish(): void;
  setStatus(status: RunStatus, message: string): void;
}

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`);

export class DagExecutor {
  private open = false;
  private changed = false;
  private readonly scopes = new Map<string, CancellationScope>();
  private readonly cancelRequested = new Set<string>();
  private readonly decisions = new Map<string, { decision: 'approve' | 'reject'; feedback?: string }>();
  private readonly outputs = new Map<string, string>();
  private readonly finishedOrder: string[] = [];
  private readonly calls: ModelCallRecord[] = [];
  private readonly desktops = new Map<string, DesktopActivities>();
  /** Bumped each time a node starts, so that only its latest run may settle it (a retry starts a new one). */
  private readonly generation = new Map<string, number>();
  private readonly acts: DagActivities;
  /** The task as confirmed (the Robot Host may have restated it). */
  private task = '';

  constructor(private readonly host: DagHost) {
    this.acts = proxyActivities<DagActivities>(this.activityOptions());
    setHandler(cancelNodeUpdate, ({ nodeId }) => this.cancelNode(nodeId), {
      validator: ({ nodeId }) => this.expect(nodeId, ['running', 'pending', 'waiting'], 'cancelled'),
    });
    setHandler(retryNodeUpdate, ({ nodeId }) => this.retryNode(nodeId), {
      validator: ({ nodeId }) => this.expect(nodeId, ['failed', 'cancelled'], 'retried'),
    });
    setHandler(approveNodeUpdate, ({ nodeId, decision, feedback }) => this.approveNode(nodeId, decision, feedback), {
      validator: ({ nodeId, decision }) => {
        if (decision !== 'approve' && decision !== 'reject') throw new Error('decision must be approve or reject');
        this.expect(nodeId, ['waiting'], 'approved or rejected');
      },
    });
  }

  private activityOptions(taskQueue?: string): ActivityOptions {
    const opts = this.host.input.options ?? {};
    return {
      // A desktop that is off must not hold a node forever: unpicked for 10 minutes, the node fails.
      ...(taskQueue ? { taskQueue, scheduleToStartTimeout: '10m' } : {}),
      startToCloseTimeout: `${opts.stageTimeoutSeconds ?? 600}s`,
      heartbeatTimeout: '10s',
      // The node is marked cancelled at once; the activity learns through its heartbeat and aborts its work.
      cancellationType: ActivityCancellationType.TRY_CANCEL,
      retry: {
        initialInterval: opts.retryInitialIntervalMs ?? 1000,
        backoffCoefficient: 2,
        maximumInterval: '30s',
        maximumAttempts: opts.nodeMaxAttempts ?? 3,
      },
    };
  }

  private desktop(taskQueue: string): DesktopActivities {
    let acts = this.desktops.get(taskQueue);
    if (!acts) {
      acts = proxyActivities<DesktopActivities>(this.activityOptions(taskQueue));
      this.desktops.set(taskQueue, acts);
    }
    return acts;
  }

  private get dag(): DagState | undefined {
    return this.host.state.dag;
  }

  private node(id: string): DagNodeState | undefined {
    return this.dag?.nodes.find((n) => n.id === id);
  }

  /** Update validator: throws (→ the update is rejected, HTTP 409) unless the node can take this action now. */
  private expect(nodeId: string, statuses: NodeStatus[], action: string): void {
    if (!this.dag) throw new Error('this run has no task graph yet');
    if (!this.open) throw new Error('the task graph is not running any more');
    const n = this.node(nodeId);
    if (!n) throw new Error(`no node "${nodeId}" in this task graph`);
    if (!statuses.includes(n.status)) throw new Error(`node "${nodeId}" is ${n.status} and cannot be ${action}`);
  }

  private cancelNode(nodeId: string): NodeControlResult {
    const n = this.node(nodeId)!;
    this.cancelRequested.add(nodeId);
    this.scopes.get(nodeId)?.cancel();
    this.finish(n, 'cancelled', 'cancelled by a person');
    this.host.event('node.cancelled', `node ${nodeId} cancelled`);
    this.changed = true;
    return { nodeId, status: n.status };
  }

  private retryNode(nodeId: string): NodeControlResult {
    const n = this.node(nodeId)!;
    this.reset(n);
    for (const id of dependantsOf(this.dag!.nodes, nodeId)) {
      const d = this.node(id)!;
      if (d.status === 'skipped') this.reset(d);
    }
    this.host.event('node.retried', `node ${nodeId} retried`);
    this.changed = true;
    return { nodeId, status: n.status };
  }

  private approveNode(nodeId: string, decision: 'approve' | 'reject', feedback?: string): NodeControlResult {
    this.decisions.set(nodeId, { decision, feedback });
    this.node(nodeId)!.approval = { decision, feedback, at: this.host.now() };
    this.host.event('node.decided', `node ${nodeId} ${decision === 'approve' ? 'approved' : 'rejected'}${feedback ? `: ${feedback}` : ''}`);
    this.changed = true;
    return { nodeId, status: 'waiting' };
  }

  private reset(n: DagNodeState) {
    this.cancelRequested.delete(n.id);
    this.decisions.delete(n.id);
    this.outputs.delete(n.id);
    n.status = 'pending';
    n.error = undefined;
    n.finishedAt = undefined;
    n.durationMs = undefined;
    n.approval = undefined;
  }

  private finish(n: DagNodeState, status: NodeStatus, error?: string) {
    n.status = status;
    n.error = error;
    n.finishedAt = this.host.now();
    if (n.startedAt) n.durationMs = Date.parse(n.finishedAt) - Date.parse(n.startedAt);
  }

  /** Run the Tasks stage: plan, execute, and return the stage result. */
  async run(
    goals: { id: string; title: string; deliverable: string }[],
    extra: { task?: string; feedback?: string[] } = {},
  ): Promise<StageResult<TasksOutput>> {
    const { input, state } = this.host;
    const opts = input.options ?? {};
    // A revision runs the stage again from a clean slate (the earlier graph stays in the events).
    this.outputs.clear();
    this.finishedOrder.length = 0;
    this.calls.length = 0;
    this.cancelRequested.clear();
    this.decisions.clear();
    this.task = extra.task ?? input.task;
    const plan = await this.acts.planDag({
      feedback: extra.feedback,
      task: this.task,
      robot: input.robot,
      goals,
      supplied: input.dag,
      desktopQueue: opts.desktopQueue,
    });
    this.bill(plan.calls);
    state.dag = {
      nodes: plan.nodes.map((n) => ({ ...n, status: 'pending', runs: 0, usage: emptyUsage(), validation: [] })),
      parallelism: Math.max(1, opts.dagParallelism ?? 8),
      onNodeFailure: opts.onNodeFailure ?? 'fail',
      summary: '',
      plannerRepairs: plan.repairs,
      plannedAt: this.host.now(),
    };
    this.host.event(
      'dag.planned',
      `${plan.source === 'supplied' ? 'supplied graph' : 'planned graph'} of ${plan.nodes.length} node(s)${plan.repairs ? ` after ${plan.repairs} repair(s)` : ''}`,
    );
    this.host.publish();
    this.open = true;
    try {
      await this.execute();
    } catch (err) {
      if (isCancellation(err)) {
        for (const n of state.dag.nodes) if (['pending', 'running', 'waiting'].includes(n.status)) this.finish(n, 'cancelled', 'run cancelled');
      }
      throw err;
    } finally {
      this.open = false;
      state.dag.finishedAt = this.host.now();
    }
    return this.stageResult();
  }

  private async execute(): Promise<void> {
    const dag = this.dag!;
    for (;;) {
      this.skipBlocked();
      this.startReady();
      this.refreshStatus();
      const active = dag.nodes.some((n) => n.status === 'running' || n.status === 'waiting' || n.status === 'pending');
      if (!active) {
        const failed = dag.nodes.filter((n) => n.status === 'failed');
        if (failed.length === 0 || dag.onNodeFailure !== 'wait') return this.finishGraph(failed);
        dag.awaitingRetry = true;
        this.refreshStatus(`waiting for a retry of failed node(s) ${failed.map((n) => n.id).join(', ')}`);
      }
      this.changed = false;
      await condition(() => this.changed);
      dag.awaitingRetry = false;
    }
  }

  private finishGraph(failed: DagNodeState[]): void {
    const dag = this.dag!;
    const ends = sinks(dag.nodes).filter((id) => this.node(id)!.status === 'done');
    if (ends.length) dag.result = ends.map((id) => this.outputs.get(id) ?? '').join('\n\n');
    if (failed.length && dag.onNodeFailure === 'fail') {
      throw ApplicationFailure.create({
        message: `${failed.length} node(s) failed: ${failed.map((n) => `${n.id}: ${n.error}`).join('; ')}`,
        type: 'NodeFailed',
        nonRetryable: true,
      });
    }
  }

  /** Pending nodes behind a failed, cancelled or skipped dependency are skipped (to a fixed point). */
  private skipBlocked(): void {
    const dag = this.dag!;
    let again = true;
    while (again) {
      again = false;
      for (const n of dag.nodes) {
        if (n.status !== 'pending') continue;
        const blocker = n.dependsOn.map((d) => this.node(d)!).find((d) => d.status === 'failed' || d.status === 'cancelled' || d.status === 'skipped');
        if (blocker) {
          n.status = 'skipped';
          n.error = `skipped: depends on ${blocker.id}, which ${blocker.status === 'skipped' ? 'was skipped' : blocker.status}`;
          again = true;
        }
      }
    }
  }

  private startReady(): void {
    const dag = this.dag!;
    let running = dag.nodes.filter((n) => n.status === 'running').length;
    for (const n of dag.nodes) {
      if (running >= dag.parallelism) return;
      if (n.status !== 'pending' || !n.dependsOn.every((d) => this.node(d)!.status === 'done')) continue;
      running++;
      this.start(n);
    }
  }

  /** Review while a node waits for approval or the graph waits for a retry; Running otherwise. */
  private refreshStatus(why?: string): void {
    const dag = this.dag!;
    const waiting = dag.nodes.filter((n) => n.status === 'waiting');
    const review = waiting.length > 0 || !!dag.awaitingRetry;
    const { state } = this.host;
    if (review && state.status === 'Running') {
      this.host.setStatus('Review', why ?? `node(s) ${waiting.map((n) => n.id).join(', ')} waiting for approval`);
    } else if (!review && state.status === 'Review') {
      this.host.setStatus('Running', 'task graph running again');
    }
  }

  private start(n: DagNodeState): void {
    n.status = 'running';
    n.startedAt = this.host.now();
    n.runs++;
    this.host.event('node.started', `node ${n.id} started (${n.kind})`);
    const scope = new CancellationScope();
    this.scopes.set(n.id, scope);
    const gen = (this.generation.get(n.id) ?? 0) + 1;
    this.generation.set(n.id, gen);
    const current = () => this.generation.get(n.id) === gen && (n.status === 'running' || n.status === 'waiting');
    scope
      .run(() => this.runNode(n))
      .then(
        () => {
          if (!current()) return;
          this.finish(n, 'done');
          this.finishedOrder.push(n.id);
          this.updateSummary();
          this.host.event('node.completed', `node ${n.id} done`);
        },
        (err) => {
          // A person's cancel has already settled the node (and a retry may have reset it since).
          if (!current()) return;
          if (this.cancelRequested.has(n.id)) return this.finish(n, 'cancelled', 'cancelled by a person');
          if (isCancellation(err)) {
            this.finish(n, 'cancelled', 'run cancelled');
            return;
          }
          const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
          this.finish(n, 'failed', cause.message);
          this.host.event('node.failed', `node ${n.id} failed: ${cause.message}`);
        },
      )
      .finally(() => {
        if (this.scopes.get(n.id) === scope) this.scopes.delete(n.id);
        this.changed = true;
      });
  }

  private inputsOf(n: DagNodeState) {
    const per = Math.floor(MAX_NODE_INPUT_CHARS / Math.max(1, n.dependsOn.length));
    return n.dependsOn.map((id) => ({ id, title: this.node(id)!.title, output: cut(this.outputs.get(id) ?? '', per) }));
  }

  private async runNode(n: DagNodeState): Promise<void> {
    const { input } = this.host;
    const opts = input.options ?? {};
    const spec: PlannedNode = { ...n };
    for (const k of ['status', 'startedAt', 'finishedAt', 'durationMs', 'runs', 'model', 'reason', 'usage', 'output', 'outputChars', 'truncated', 'error', 'validation', 'ranOn', 'approval'] as const) {
      delete (spec as Partial<DagNodeState>)[k];
    }
    if (n.placement.on === 'desktop' && n.requiresApproval !== false) {
      n.status = 'waiting';
      this.host.event('node.waiting', `node ${n.id} waits for approval to run ${JSON.stringify(n.args ?? {})} on ${n.placement.taskQueue}`);
      this.refreshStatus();
      await condition(() => this.decisions.has(n.id));
      const d = this.decisions.get(n.id)!;
      if (d.decision === 'reject') {
        throw ApplicationFailure.create({ message: `rejected by a person${d.feedback ? `: ${d.feedback}` : ''}`, type: 'NodeRejected', nonRetryable: true });
      }
      n.status = 'running';
      n.startedAt = this.host.now();
      this.refreshStatus();
    }
    const validate = opts.validateNodes ?? true;
    const maxRevisions = opts.maxNodeRevisions ?? 1;
    let feedback: string | undefined;
    for (let round = 0; ; round++) {
      const req = { runId: this.host.state.runId, task: this.task, robot: input.robot, node: spec, inputs: this.inputsOf(n), feedback };
      const result =
        n.placement.on === 'desktop' ? await this.desktop(n.placement.taskQueue).runDesktopNode(req) : await this.acts.runDagNode(req);
      this.outputs.set(n.id, result.output);
      n.output = cut(result.output, OUTPUT_PREVIEW_CHARS);
      n.outputChars = result.outputChars;
      n.truncated = result.truncated;
      n.model = result.model;
      n.reason = result.reason;
      n.ranOn = result.ranOn;
      this.addCalls(n, result.calls);
      if (!validate) return;
      const check = await this.acts.validateDagNode({ runId: this.host.state.runId, task: this.task, robot: input.robot, node: spec, output: result.output });
      this.addCalls(n, check.calls);
      n.validation.push({ round, ...check.verdict });
      if (check.verdict.passed || round >= maxRevisions) return;
      feedback = check.verdict.feedback;
      n.runs++;
      this.host.event('node.revised', `node ${n.id} sent back by its validator: ${feedback}`);
    }
  }

  private addCalls(n: DagNodeState, calls: ModelCallRecord[]) {
    n.usage = addCalls(n.usage, calls);
    this.bill(calls);
  }

  /** Calls count in the run's usage as they happen (the run workflow does not add the Tasks stage again). */
  private bill(calls: ModelCallRecord[]) {
    this.calls.push(...calls);
    const { state } = this.host;
    state.usage = addCalls(state.usage, calls);
    state.offline ||= calls.some((c) => c.offline);
  }

  /** Rolling summary: what the finished nodes found, newest last; cheap and deterministic (no model call). */
  private updateSummary(): void {
    const dag = this.dag!;
    const done = dag.nodes.filter((n) => n.status === 'done').length;
    const lines = this.finishedOrder
      .filter((id) => this.node(id)?.status === 'done')
      .slice(-12)
      .map((id) => `- ${this.node(id)!.title}: ${cut((this.outputs.get(id) ?? '').replace(/\s+/g, ' '), 200)}`);
    dag.summary = `${done}/${dag.nodes.length} node(s) done.\n${lines.join('\n')}`;
  }

  private stageResult(): StageResult<TasksOutput> {
    const dag = this.dag!;
    const per = Math.floor(MAX_STAGE_OUTPUT_CHARS / dag.nodes.length);
    const tasks: TaskOutcome[] = dag.nodes.map((n) => ({
      id: n.id,
      title: n.title,
      kind: n.kind,
      status: n.status,
      expectedOutput: n.expectedOutput,
      result: cut(this.outputs.get(n.id) ?? '', per),
      validation: n.validation.at(-1),
    }));
    const count = (s: NodeStatus) => dag.nodes.filter((n) => n.status === s).length;
    const parts = (['done', 'failed', 'skipped', 'cancelled'] as const).filter((s) => count(s)).map((s) => `${count(s)} ${s}`);
    return {
      output: { tasks, summary: dag.summary, result: dag.result && cut(dag.result, per * 4) },
      summary: `${dag.nodes.length} node(s): ${parts.join(', ')}`,
      calls: this.calls,
    };
  }
}
