/**
 * The task graph (DAG) of the Tasks stage: the node spec (one schema for planner answers and caller-supplied
 * graphs), per-node state, and pure graph functions shared by the workflow (scheduling) and the planner activity
 * (which runs the same checks before it answers). Pure: no Node imports, no I/O, no clock, no randomness.
 */
import { z } from 'zod';
import { IsoTime, NodeId, shortText } from './common';
import { ModelCallRecord, MODEL_TIERS, Usage } from './pipeline';

/** What a node does. Model kinds are routed through the routing table; `tool` and `command` run a registry tool. */
export const NODE_KINDS = ['plan', 'text', 'vision', 'extract', 'synthesize', 'tool', 'command'] as const;
export const NodeKind = z.enum(NODE_KINDS);
export type NodeKind = z.infer<typeof NodeKind>;

/** Node kinds answered by a model (they are also routing-table work kinds). */
export const MODEL_NODE_KINDS = ['plan', 'text', 'vision', 'extract', 'synthesize'] as const;
export type ModelNodeKind = (typeof MODEL_NODE_KINDS)[number];

export const isModelKind = (kind: NodeKind): kind is ModelNodeKind => (MODEL_NODE_KINDS as readonly string[]).includes(kind);

/** Tiers a planner may hint at; the robot's own overrides win over a hint (see activities/models/router.ts). */
export const MODEL_HINTS = MODEL_TIERS;
export type ModelHint = (typeof MODEL_HINTS)[number];

/** One planned node, as the planner (or a caller-supplied plan) describes it. */
export const DagNodeSpec = z.object({
  /** Unique within the graph; shown whole everywhere. */
  id: NodeId,
  title: z.string().trim().min(1).max(200),
  instructions: z.string().trim().min(1).max(8000),
  kind: NodeKind,
  /** Ids of the nodes whose outputs this node needs. */
  dependsOn: z.array(z.string()).max(200).default([]),
  /** What a good output looks like; the node validator checks against it. */
  expectedOutput: z.string().trim().min(1).max(4000),
  modelHint: z.enum(MODEL_HINTS).optional(),
  /** Registry tool name (kind `tool`; kind `command` always means the `command` tool). */
  tool: z.string().min(1).max(64).optional(),
  /** Arguments of the tool, validated by the tool's own schema at planning time. */
  args: z.record(z.unknown()).optional(),
  /** Named worker ("desktop") task queue that must run this node (command nodes). */
  worker: NodeId.optional(),
  /**
   * Latency the offline model simulates for this node's own call, in milliseconds (tests, demos, bench/dag.ts).
   * Real providers ignore it. Overrides MC_OFFLINE_DELAY_MS for this call only.
   */
  simulatedLatencyMs: z.number().int().min(0).max(3_600_000).optional(),
});
export type DagNodeSpec = z.infer<typeof DagNodeSpec>;

/** A plan: nodes as a caller supplies them (limits enforced: a caller's too-long title is refused). */
export const DagPlan = z.object({ nodes: z.array(DagNodeSpec).max(1000) });
export type DagPlan = z.infer<typeof DagPlan>;

/**
 * One node as the planner model answers it. The same fields as DagNodeSpec, except that text the model chose (often
 * copied from the task: a long URL, a 400-character word) is shortened to the limit instead of failing the plan, and
 * that there is no approval field: unknown keys such as `requiresApproval` are dropped, so nothing a model writes
 * can let a command node skip its approval (that comes from `approvals.commands` only, see ./gates.ts).
 */
export const PlannerNodeSpec = DagNodeSpec.extend({
  title: shortText(200),
  instructions: shortText(8000),
  expectedOutput: shortText(4000),
}).strip();

/** What the planner model must answer. */
export const PlannerAnswer = z.object({ nodes: z.array(PlannerNodeSpec).max(1000) });
export type PlannerAnswer = z.infer<typeof PlannerAnswer>;

/** Where a node runs: the run's own task queue, or a desktop's queue (resolved by the planner from the tool registry). */
export const NodePlacement = z.discriminatedUnion('on', [
  z.object({ on: z.literal('worker') }),
  z.object({ on: z.literal('desktop'), taskQueue: z.string() }),
]);
export type NodePlacement = z.infer<typeof NodePlacement>;

/** A planned node plus where it runs and, for desktop tools, whether it waits for a person first. */
export const PlannedNode = DagNodeSpec.extend({
  placement: NodePlacement,
  /**
   * Set by the planner activity from the run's `approvals.commands` (false only when `pre-approved`), never taken
   * from the graph itself. Command nodes wait for a person's `approveNode` decision unless this is false.
   */
  requiresApproval: z.boolean().optional(),
});
export type PlannedNode = z.infer<typeof PlannedNode>;

/** `waiting`: a command node waiting for its approval. */
export const NODE_STATUSES = ['pending', 'waiting', 'running', 'done', 'failed', 'skipped', 'cancelled'] as const;
export const NodeStatus = z.enum(NODE_STATUSES);
export type NodeStatus = z.infer<typeof NodeStatus>;

export const NodeVerdict = z.object({ round: z.number(), passed: z.boolean(), feedback: z.string() });
export type NodeVerdict = z.infer<typeof NodeVerdict>;

/** A person's decision on a node waiting for approval. */
export const NodeDecision = z.object({ decision: z.enum(['approve', 'reject']), feedback: z.string().max(4000).optional() }).strict();
export type NodeDecision = z.infer<typeof NodeDecision>;

/** Everything the run state shows about one node. */
export const DagNodeState = PlannedNode.extend({
  status: NodeStatus,
  startedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
  durationMs: z.number().optional(),
  /** How many times the node was (re)started by the executor: validator re-runs and person-requested retries. */
  runs: z.number(),
  /** Model that answered (or `tool:<name>`), and why it was chosen. */
  model: z.string().optional(),
  reason: z.string().optional(),
  usage: Usage,
  /**
   * First characters of the output. The whole output (already capped by the node activity) flows to dependants
   * and into the Tasks stage output; the run state keeps a preview so that the query result and the final
   * workflow result stay far below the 2 MB payload limit.
   */
  output: z.string().optional(),
  outputChars: z.number().optional(),
  /** True when the node activity cut the output at the configured cap. */
  truncated: z.boolean().optional(),
  error: z.string().optional(),
  validation: z.array(NodeVerdict),
  /** Free-form facts the tool reported (e.g. the host, queue and pid that ran a command). */
  ranOn: z.record(z.unknown()).optional(),
  approval: NodeDecision.extend({ at: IsoTime }).optional(),
});
export type DagNodeState = z.infer<typeof DagNodeState>;

/** What happens when a node fails after its retries. */
export const NODE_FAILURE_POLICIES = ['fail', 'continue', 'wait'] as const;
export type NodeFailurePolicy = (typeof NODE_FAILURE_POLICIES)[number];

export const DagState = z.object({
  nodes: z.array(DagNodeState),
  parallelism: z.number(),
  onNodeFailure: z.enum(NODE_FAILURE_POLICIES),
  /** Rolling summary of what has been learned so far, updated as nodes finish. */
  summary: z.string(),
  /** Output of the graph's sink node(s) once all are done. */
  result: z.string().optional(),
  /** With `onNodeFailure: 'wait'`: the graph has failed nodes and waits for a retry (or the run's cancel). */
  awaitingRetry: z.boolean().optional(),
  plannerRepairs: z.number(),
  plannedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
});
export type DagState = z.infer<typeof DagState>;

/** One finished node as the later stages (Validation, Delivery) see it. */
export interface TaskOutcome {
  id: string;
  title: string;
  kind: NodeKind;
  status: NodeStatus;
  expectedOutput: string;
  result: string;
  validation?: NodeVerdict;
}

/** Output of the Tasks stage. */
export interface TasksOutput {
  tasks: TaskOutcome[];
  summary: string;
  result?: string;
}

/** What a node activity returns. */
export interface NodeRunResult {
  output: string;
  outputChars: number;
  truncated: boolean;
  calls: ModelCallRecord[];
  model: string;
  reason: string;
  ranOn?: Record<string, unknown>;
}

/** The result of a node control update (cancelNode, retryNode, approveNode). */
export interface NodeControlResult {
  nodeId: string;
  status: NodeStatus;
}

// ---- graph checks -------------------------------------------------------------------------------------------

export type GraphIssueCode = 'empty' | 'too_many_nodes' | 'duplicate_id' | 'unknown_dependency' | 'self_dependency' | 'cycle';

export interface GraphIssue {
  code: GraphIssueCode;
  message: string;
  nodeId?: string;
}

type GraphNode = Pick<DagNodeSpec, 'id' | 'dependsOn'>;

/**
 * Everything wrong with a graph, in words a model can act on (the planner feeds them back for repair).
 * An empty list means: non-empty, within the limit, unique ids, every dependency known, acyclic.
 *
 * @example
 * checkGraph([{ id: 'a', dependsOn: ['b'] }, { id: 'b', dependsOn: ['a'] }], { maxNodes: 10 })
 * // → [{ code: 'cycle', message: 'dependency cycle: a → b → a', nodeId: 'a' }]
 */
export function checkGraph(nodes: readonly GraphNode[], opts: { maxNodes: number }): GraphIssue[] {
  const issues: GraphIssue[] = [];
  if (nodes.length === 0) return [{ code: 'empty', message: 'the graph has no nodes: plan at least one' }];
  if (nodes.length > opts.maxNodes) {
    issues.push({ code: 'too_many_nodes', message: `the graph has ${nodes.length} nodes; the limit is ${opts.maxNodes}: merge small steps` });
  }
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.id)) issues.push({ code: 'duplicate_id', message: `duplicate node id "${n.id}": ids must be unique`, nodeId: n.id });
    ids.add(n.id);
  }
  for (const n of nodes) {
    for (const d of n.dependsOn) {
      if (d === n.id) issues.push({ code: 'self_dependency', message: `node "${n.id}" depends on itself`, nodeId: n.id });
      else if (!ids.has(d)) {
        issues.push({ code: 'unknown_dependency', message: `node "${n.id}" depends on unknown node "${d}"`, nodeId: n.id });
      }
    }
  }
  const cycle = findCycle(nodes);
  if (cycle) issues.push({ code: 'cycle', message: `dependency cycle: ${cycle.join(' → ')}`, nodeId: cycle[0] });
  return issues;
}

/** One dependency cycle (first node repeated at the end), or undefined. Self-loops and unknown ids are ignored. */
export function findCycle(nodes: readonly GraphNode[]): string[] | undefined {
  const deps = new Map<string, string[]>();
  for (const n of nodes) if (!deps.has(n.id)) deps.set(n.id, n.dependsOn.filter((d) => d !== n.id));
  const color = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = finished
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    color.set(id, 1);
    stack.push(id);
    for (const d of deps.get(id) ?? []) {
      if (!deps.has(d)) continue;
      if (color.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!color.has(d)) {
        const found = visit(d);
        if (found) return found;
      }
    }
    stack.pop();
    color.set(id, 2);
    return undefined;
  };
  for (const id of deps.keys()) {
    if (!color.has(id)) {
      const found = visit(id);
      if (found) return found;
    }
  }
  return undefined;
}

/** Length of the longest path (sum of durations) through a valid graph: the lower bound of any schedule. */
export function criticalPath(nodes: readonly GraphNode[], duration: (id: string) => number): number {
  const finish = new Map<string, number>();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const at = (id: string): number => {
    const known = finish.get(id);
    if (known !== undefined) return known;
    const n = byId.get(id)!;
    const f = Math.max(0, ...n.dependsOn.map(at)) + duration(id);
    finish.set(id, f);
    return f;
  };
  return Math.max(0, ...nodes.map((n) => at(n.id)));
}

/** Level of each node: 0 for roots, else 1 + the deepest dependency (the "wave" a wave executor runs it in). */
export function levels(nodes: readonly GraphNode[]): Map<string, number> {
  const level = new Map<string, number>();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const at = (id: string): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    const l = Math.max(-1, ...byId.get(id)!.dependsOn.map(at)) + 1;
    level.set(id, l);
    return l;
  };
  for (const n of nodes) at(n.id);
  return level;
}

/**
 * Makespan of wave execution (the seed's executor): each wave waits for its slowest node before the next starts.
 * Unlimited parallelism inside a wave, no scheduling overhead: the wave executor's best case.
 */
export function waveMakespan(nodes: readonly GraphNode[], duration: (id: string) => number): number {
  const lv = levels(nodes);
  const slowest = new Map<number, number>();
  for (const n of nodes) slowest.set(lv.get(n.id)!, Math.max(slowest.get(lv.get(n.id)!) ?? 0, duration(n.id)));
  return [...slowest.values()].reduce((a, b) => a + b, 0);
}

/** Ids of the nodes no other node depends on (their outputs are the graph's result). */
export function sinks(nodes: readonly GraphNode[]): string[] {
  const used = new Set(nodes.flatMap((n) => n.dependsOn));
  return nodes.filter((n) => !used.has(n.id)).map((n) => n.id);
}

/** Every node that (transitively) depends on `id`. */
export function dependantsOf(nodes: readonly GraphNode[], id: string): string[] {
  const out = new Set<string>();
  let frontier = [id];
  while (frontier.length) {
    const next: string[] = [];
    for (const n of nodes) if (!out.has(n.id) && n.dependsOn.some((d) => frontier.includes(d))) (out.add(n.id), next.push(n.id));
    frontier = next;
  }
  return [...out];
}
