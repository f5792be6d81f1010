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
 * Budget: every model-calling activity of the graph (planner, node, node validator) runs under a grant, a share of
 * what is left of the run's budget, reserved while it is in flight so that parallel nodes together cannot
 * overspend; its budget guard refuses, unsent, a request that would spend more than its grant. A refused node waits
 * for budget to come back from the activities in flight, or, with nothing in flight, for the run's budget gate
 * (status Review; nothing new starts meanwhile): a raise runs the refused activity again (not a node failure,
 * and finished nodes never run twice), a rejection ends the run. Calls are billed once, into the node, the Tasks
 * stage and the run, as each activity returns (see `budgeted` and `serveBudget`).
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
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { DagActivities, DesktopActivities } from '../activities/dag';
import { nodeActivityOptions } from './activity-options';
import { budgetRefusal, failureCause } from './activity-failures';
import { approveNodeUpdate, cancelNodeUpdate, retryNodeUpdate } from '../contracts/messages';
import { DagNodeState, DagState, NodeControlResult, dependantsOf, isModelKind, NodeStatus, PlannedNode, sinks, TaskOutcome, TasksOutput } from '../contracts/dag';
import { StageResult } from '../contracts/activities';
import { BUDGET_EXCEEDED, BudgetAllowance, BudgetExceededDetails } from '../contracts/gates';
import { addCalls, emptyUsage, ModelCallRecord, RunStatus } from '../contracts/pipeline';
import { RunInput, RunState } from '../contracts/run';

type Needed = BudgetExceededDetails['needed'];

/** Total characters of dependency outputs handed to one node. */
export const MAX_NODE_INPUT_CHARS = 32_000;
/** Total characters of node results in the Tasks stage output (read by Validation and Delivery). */
export const MAX_STAGE_OUTPUT_CHARS = 400_000;
/** Characters of each node output kept in the run state. */
export const OUTPUT_PREVIEW_CHARS = 500;

/** The run's budget as the task graph sees it (robot-run.ts binds it to the Tasks stage). */
export interface DagBudget {
  /** What is left of the run's caps after everything billed so far; undefined when the run has no budget. */
  allowance(): BudgetAllowance | undefined;
  /** What the next model-calling step is expected to cost: the average of the run's steps so far (0 before the first). */
  estimate(): Needed;
  /**
   * The run's budget gate, for the Tasks stage: returns at once when what is left covers the expected next step;
   * otherwise (and always with `refused`, what a refused request needed) waits at the `budget` gate, status Review,
   * until a person raises the caps. A rejection throws (the run ends Failed).
   */
  ensure(refused?: Needed, subject?: string): Promise<void>;
}

/** What the executor needs from the run workflow. */
export interface DagHost {
  input: RunInput;
  state: RunState;
  now(): string;
  event(type: string, message: string): void;
  publish(): void;
  setStatus(status: RunStatus, message: string): void;
  budget: DagBudget;
  /**
   * Count calls in the Tasks stage and in the run: the one place the graph's calls are billed (so the run's usage
   * is always the sum of its stages'). `step`: they are the calls of a model-calling activity that finished.
   */
  bill(calls: ModelCallRecord[], step: boolean): void;
}

/** An activity waiting for its share of the budget, and the share once granted. */
interface BudgetRequest {
  what: string;
  /** What the request this activity had refused needed (it must get at least that). */
  needed?: Needed;
  /** With nothing in flight, the budget gate has let it through once. */
  checked?: boolean;
  grant?: BudgetAllowance;
}

const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;
/** Whether `need` fits in `left` (a cap absent from `left` does not limit). */
const fits = (need: Needed, left: BudgetAllowance) =>
  (left.remainingTokens === undefined || need.tokens <= left.remainingTokens) &&
  (left.remainingCostUsd === undefined || need.costUsd <= left.remainingCostUsd);

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
  /** Activities waiting for budget, first come first served (see serveBudget). */
  private readonly budgetQueue: BudgetRequest[] = [];
  /** What the model-calling activities in flight may still spend: reserved, so that together they cannot overspend. */
  private readonly grants = new Set<BudgetAllowance>();
  /** What the latest refused request of this graph needed: what a request of it takes, a better guess than the average. */
  private lastRefused: Needed = { tokens: 0, costUsd: 0 };

  constructor(private readonly host: DagHost) {
    this.acts = proxyActivities<DagActivities>(nodeActivityOptions(host.input.options));
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

  private desktop(taskQueue: string): DesktopActivities {
    let acts = this.desktops.get(taskQueue);
    if (!acts) {
      acts = proxyActivities<DesktopActivities>(nodeActivityOptions(this.host.input.options, taskQueue));
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
    this.lastRefused = { tokens: 0, costUsd: 0 };
    this.task = extra.task ?? input.task;
    // Under a budget, planning waits at the budget gate first when the run is expected to overspend.
    const plan = await this.budgeted(undefined, 'the planner', true, (budget) =>
      this.acts.planDag({
        feedback: extra.feedback,
        task: this.task,
        robot: input.robot,
        goals,
        supplied: input.dag,
        desktopQueue: opts.desktopQueue,
        budget,
      }),
    );
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
      // Run cancelled, or the run ends here (a budget gate rejected): nothing of the graph goes on.
      const why = isCancellation(err) ? 'run cancelled' : `run stopped: ${(err as Error).message}`;
      for (const n of state.dag.nodes) {
        if (!['pending', 'running', 'waiting'].includes(n.status)) continue;
        this.scopes.get(n.id)?.cancel();
        this.finish(n, 'cancelled', why);
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
      // Nothing new starts while an activity waits for budget (and so while the run waits at the budget gate).
      if (!this.budgetQueue.some((r) => !r.grant)) this.startReady();
      this.refreshStatus();
      const active = dag.nodes.some((n) => n.status === 'running' || n.status === 'waiting' || n.status === 'pending');
      if (!active) {
        const failed = dag.nodes.filter((n) => n.status === 'failed');
        if (failed.length === 0 || dag.onNodeFailure !== 'wait') return this.finishGraph(failed);
        dag.awaitingRetry = true;
        this.refreshStatus(`waiting for a retry of failed node(s) ${failed.map((n) => n.id).join(', ')}`);
      }
      this.changed = false;
      // May wait at the budget gate (nothing else starts meanwhile; a rejection ends the run).
      await this.serveBudget();
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
    // The run waits at a gate (the budget gate): that gate owns the status until it is decided.
    if (state.gate) return;
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
          const cause = failureCause(err);
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
      // Tool and command nodes call no model: they need no budget (their validation does).
      const result = await this.budgeted(n, `node ${n.id}`, isModelKind(n.kind), (budget) =>
        n.placement.on === 'desktop'
          ? this.desktop(n.placement.taskQueue).runDesktopNode({ ...req, budget })
          : this.acts.runDagNode({ ...req, budget }),
      );
      this.outputs.set(n.id, result.output);
      n.output = cut(result.output, OUTPUT_PREVIEW_CHARS);
      n.outputChars = result.outputChars;
      n.truncated = result.truncated;
      n.model = result.model;
      n.reason = result.reason;
      n.ranOn = result.ranOn;
      if (!validate) return;
      const check = await this.budgeted(n, `node ${n.id}'s validator`, true, (budget) =>
        this.acts.validateDagNode({ runId: this.host.state.runId, task: this.task, robot: input.robot, node: spec, output: result.output, budget }),
      );
      n.validation.push({ round, ...check.verdict });
      if (check.verdict.passed || round >= maxRevisions) return;
      feedback = check.verdict.feedback;
      n.runs++;
      this.host.event('node.revised', `node ${n.id} sent back by its validator: ${feedback}`);
    }
  }

  /** Calls count in the node, the stage and the run as they happen (the run workflow does not add the Tasks stage again). */
  private bill(n: DagNodeState | undefined, calls: ModelCallRecord[], step: boolean) {
    if (n) n.usage = addCalls(n.usage, calls);
    this.calls.push(...calls);
    this.host.bill(calls, step && calls.length > 0);
  }

  // ---- Budget -----------------------------------------------------------------------------------------------

  /**
   * One activity of the graph under the run's budget. A model-calling one first waits for its grant (its share of
   * what is left, see serveBudget) and hands it to the activity, whose budget guard (activities/models/budget.ts)
   * refuses, unsent, a request that would spend more. Its calls are billed when it returns and the unspent grant
   * goes back. A refusal (BudgetExceeded) bills the calls made before it and asks again for at least what the
   * refused request needed, which can mean the budget gate; then the same activity runs again: a refusal is not a
   * node failure, and nothing that finished runs twice.
   */
  private async budgeted<T extends { calls: ModelCallRecord[] }>(
    n: DagNodeState | undefined,
    what: string,
    callsModel: boolean,
    call: (budget: BudgetAllowance | undefined) => Promise<T>,
  ): Promise<T> {
    if (!callsModel || !this.host.budget.allowance()) {
      const result = await call(undefined);
      this.bill(n, result.calls, true);
      return result;
    }
    let needed: Needed | undefined;
    for (;;) {
      const grant = await this.acquire(what, needed);
      try {
        const result = await call(grant);
        this.bill(n, result.calls, true);
        return result;
      } catch (err) {
        const refusal = budgetRefusal(err);
        if (!refusal) throw err;
        this.bill(n, refusal.calls ?? [], false);
        needed = refusal.needed ?? { tokens: 1, costUsd: 0 };
        this.lastRefused = needed;
        this.host.event(
          'node.budget',
          `${what}: a model request needing about ${needed.tokens} tokens / $${needed.costUsd} was refused by the budget; it runs again once there is budget for it`,
        );
      } finally {
        // Billing above and giving the grant back happen together: the budget left is never counted twice.
        this.grants.delete(grant);
        this.changed = true;
      }
    }
  }

  /** Wait for a grant; served by the graph loop (or here, while planning, before the loop runs). */
  private async acquire(what: string, needed?: Needed): Promise<BudgetAllowance> {
    const req: BudgetRequest = { what, needed };
    this.budgetQueue.push(req);
    this.changed = true;
    let granted = false;
    try {
      if (!this.open) await this.serveBudget();
      await condition(() => req.grant !== undefined);
      granted = true;
      return req.grant as BudgetAllowance;
    } finally {
      const i = this.budgetQueue.indexOf(req);
      if (i >= 0) this.budgetQueue.splice(i, 1);
      // Cancelled (the node or the run) after its grant was handed out: give it back.
      if (!granted && req.grant) {
        this.grants.delete(req.grant);
        this.changed = true;
      }
    }
  }

  /** What is left of the run's budget minus the grants in flight (undefined: no budget). */
  private available(): BudgetAllowance | undefined {
    const left = this.host.budget.allowance();
    if (!left) return undefined;
    let tokens = left.remainingTokens;
    let cost = left.remainingCostUsd;
    for (const g of this.grants) {
      if (tokens !== undefined) tokens -= g.remainingTokens ?? 0;
      if (cost !== undefined) cost = roundUsd(cost - (g.remainingCostUsd ?? 0));
    }
    return { remainingTokens: tokens, remainingCostUsd: cost };
  }

  /**
   * Hand out budget so that the grants in flight never add up to more than is left: each activity may spend its
   * grant and no more. First come first served: a request gets an equal share of what is left among the requests
   * waiting (a refused one at least what its refused request needed); while the first cannot be served, the
   * others wait behind it and no node starts, until activities in flight give back what they did not spend. With
   * nothing in flight, the run's budget gate decides: it lets the request through when what is left covers the
   * expected step (a refused request: what it needed), or waits for a person to raise the caps (or reject).
   */
  private async serveBudget(): Promise<void> {
    for (;;) {
      const waiting = this.budgetQueue.filter((r) => !r.grant);
      const req = waiting[0];
      const left = this.available();
      if (!req || !left) return;
      const inFlight = this.grants.size > 0;
      const share: BudgetAllowance = {
        remainingTokens: left.remainingTokens === undefined ? undefined : Math.floor(left.remainingTokens / waiting.length),
        remainingCostUsd: left.remainingCostUsd === undefined ? undefined : Math.floor((left.remainingCostUsd * 1e6) / waiting.length) / 1e6,
      };
      // A refused request wants what it needed; another at least what the latest refused one needed (the guard's
      // real threshold: its prompt plus a minimal answer) and the run's expected step, so that a tight budget runs
      // nodes one after another instead of splitting into shares too small for any of them.
      const expected = this.host.budget.estimate();
      const want: Needed = req.needed ?? {
        tokens: Math.max(this.lastRefused.tokens, expected.tokens),
        costUsd: Math.max(this.lastRefused.costUsd, expected.costUsd),
      };
      const positive = (left.remainingTokens ?? 1) > 0 && (left.remainingCostUsd ?? 1) > 0;
      const ok = req.needed || inFlight ? positive && fits(want, left) : !!req.checked;
      if (ok) {
        const grant: BudgetAllowance = {
          remainingTokens:
            left.remainingTokens === undefined ? undefined : Math.min(left.remainingTokens, Math.max(share.remainingTokens ?? 0, Math.ceil(want.tokens))),
          remainingCostUsd:
            left.remainingCostUsd === undefined ? undefined : Math.min(left.remainingCostUsd, Math.max(share.remainingCostUsd ?? 0, roundUsd(want.costUsd))),
        };
        this.grants.add(grant);
        req.grant = grant;
        continue;
      }
      // Budget comes back when the activities in flight finish (they set `changed`).
      if (inFlight) return;
      await this.host.budget.ensure(req.needed, req.what);
      req.checked = true;
      this.changed = true;
    }
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
