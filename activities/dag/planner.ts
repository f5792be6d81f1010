/**
 * The planner: the Tasks stage's first step. Turns the goals into a task graph, or checks a graph the caller
 * supplied. A plan must pass, in this order: the zod schema, the graph checks shared with the workflow
 * (contracts/dag.ts checkGraph: empty, too many nodes, duplicate ids, unknown dependencies, cycles) and the tool checks
 * (the tool exists, this robot may use it, its arguments fit its schema, a desktop is named for desktop tools).
 * Every problem is fed back to the model in words, a bounded number of times (MC_MODEL_MAX_REPAIRS); then the
 * stage fails with a non-retryable `InvalidPlan` that lists what is still wrong.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { checkGraph, DagNodeSpec, DagPlan, NODE_KINDS, PlannedNode, PlannerAnswer } from '../../contracts/dag';
import { BudgetAllowance, CommandApproval } from '../../contracts/gates';
import { ModelCallRecord } from '../../contracts/pipeline';
import { DEFAULT_ROBOT_TOOLS, RobotSnapshot } from '../../contracts/run';
import type { ModelRouter } from '../models/router';
import { generateStructured } from '../models/structured';
import { feedbackSection, robotPreamble } from '../stages/context';
import { getTool, TOOLS } from '../tools';

export interface PlanContext {
  robot: RobotSnapshot;
  maxNodes: number;
  /** Desktop queue for command nodes that name no worker. */
  desktopQueue?: string;
  /** The run's `approvals.commands` (from the robot's definition or the caller, never from the graph). */
  commands?: CommandApproval;
}

/** Tools the robot may use. */
export const robotTools = (robot: RobotSnapshot): string[] => [...(robot.tools ?? DEFAULT_ROBOT_TOOLS)];

/** Tool and placement problems of one node, in words for the planner. */
function toolIssues(node: DagNodeSpec, ctx: PlanContext): string[] {
  const toolName = node.kind === 'command' ? 'command' : node.tool;
  if (node.kind !== 'tool' && node.kind !== 'command') {
    return node.tool ? [`node "${node.id}" is a ${node.kind} node and must not name a tool (use kind "tool")`] : [];
  }
  if (!toolName) return [`node "${node.id}" is a tool node but names no tool`];
  const tool = getTool(toolName);
  if (!tool) return [`node "${node.id}" uses unknown tool "${toolName}" (known: ${Object.keys(TOOLS).join(', ')})`];
  const allowed = robotTools(ctx.robot);
  if (!allowed.includes(toolName)) {
    return [`node "${node.id}" uses tool "${toolName}", which robot "${ctx.robot.name}" may not use (allowed: ${allowed.join(', ') || 'none'})`];
  }
  const issues: string[] = [];
  const args = tool.args.safeParse(node.args ?? {});
  if (!args.success) issues.push(...args.error.issues.map((i) => `node "${node.id}" args.${i.path.join('.') || '(root)'}: ${i.message}`));
  if (tool.placement === 'desktop' && !node.worker && !ctx.desktopQueue) {
    issues.push(`node "${node.id}" runs "${toolName}" on a desktop, but names no worker and no default desktop is configured (MC_DESKTOP_QUEUE)`);
  }
  return issues;
}

/** Every problem of a plan (graph and tools); empty when it can run. */
export function planIssues(nodes: DagNodeSpec[], ctx: PlanContext): string[] {
  return [...checkGraph(nodes, { maxNodes: ctx.maxNodes }).map((i) => i.message), ...nodes.flatMap((n) => toolIssues(n, ctx))];
}

/**
 * A checked plan with each node's placement resolved from the registry, and each desktop node's approval from the
 * run's policy alone: whatever approval field a graph carried was dropped when it was parsed (DagNodeSpec and
 * PlannerNodeSpec have none), so neither a model nor a graph can turn it off.
 */
export function placeNodes(nodes: DagNodeSpec[], ctx: PlanContext): PlannedNode[] {
  return nodes.map((n) => {
    const toolName = n.kind === 'command' ? 'command' : n.tool;
    const tool = toolName ? getTool(toolName) : undefined;
    const desktop = tool?.placement === 'desktop';
    return {
      ...n,
      ...(toolName ? { tool: toolName } : {}),
      ...(desktop ? { requiresApproval: ctx.commands !== 'pre-approved' } : {}),
      placement: desktop ? { on: 'desktop', taskQueue: (n.worker ?? ctx.desktopQueue)! } : { on: 'worker' },
    };
  });
}

/**
 * The schema the model's answer must meet: shape (over-long text shortened, approval fields dropped), then graph and
 * tools (so repairs see every problem).
 */
export function planSchema(ctx: PlanContext) {
  return PlannerAnswer.superRefine((plan, zctx) => {
    for (const message of planIssues(plan.nodes as DagNodeSpec[], ctx)) zctx.addIssue({ code: z.ZodIssueCode.custom, path: ['nodes'], message });
  });
}

export interface PlanRequest {
  task: string;
  robot: RobotSnapshot;
  goals: { id: string; title: string; deliverable: string }[];
  /** A caller-supplied graph: checked, not planned. */
  supplied?: DagNodeSpec[];
  desktopQueue?: string;
  /** Reviewer feedback on an earlier version of the Tasks stage (a revise decision at a gate), oldest first. */
  feedback?: string[];
  /** What this activity may spend of the run's budget; a request that would overspend it is refused unsent. */
  budget?: BudgetAllowance;
  /** The run's `approvals.commands`: whether command nodes wait for a person (absent: `ask`). */
  commands?: CommandApproval;
}

export interface PlanResult {
  nodes: PlannedNode[];
  calls: ModelCallRecord[];
  /** Answers the planner had to correct (0 when its first graph was valid). */
  repairs: number;
  source: 'planner' | 'supplied';
}

/** Offline plan: one text node per goal, then a synthesis node that needs all of them (long titles are shortened by the answer schema). */
export function offlinePlan(goals: PlanRequest['goals']): z.input<typeof PlannerAnswer> {
  const perGoal = goals.map((g, i) => ({
    id: `n${i + 1}`,
    title: g.title,
    instructions: `Work on the goal "${g.title}" and produce: ${g.deliverable}`,
    kind: 'text' as const,
    dependsOn: [],
    expectedOutput: g.deliverable,
  }));
  return {
    nodes: [
      ...perGoal,
      {
        id: 'synthesis',
        title: 'Synthesize the results',
        instructions: 'Combine the results of the other tasks into one coherent answer to the task.',
        kind: 'synthesize' as const,
        dependsOn: perGoal.map((n) => n.id),
        expectedOutput: 'One coherent answer to the task',
        modelHint: 'large' as const,
      },
    ],
  };
}

export async function planDag(
  deps: { router: ModelRouter; maxRepairs: number; maxNodes: number; signal: AbortSignal },
  req: PlanRequest,
): Promise<PlanResult> {
  const ctx: PlanContext = { robot: req.robot, maxNodes: deps.maxNodes, desktopQueue: req.desktopQueue, commands: req.commands };
  if (req.supplied) {
    const parsed = DagPlan.safeParse({ nodes: req.supplied });
    const issues = parsed.success
      ? planIssues(parsed.data.nodes as DagNodeSpec[], ctx)
      : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    if (issues.length) {
      throw ApplicationFailure.create({ message: `the supplied task graph is invalid: ${issues.join('; ')}`, type: 'InvalidPlan', nonRetryable: true });
    }
    return { nodes: placeNodes(parsed.data!.nodes as DagNodeSpec[], ctx), calls: [], repairs: 0, source: 'supplied' };
  }
  const tools = robotTools(req.robot)
    .map((name) => getTool(name))
    .filter((t) => t !== undefined)
    .map((t) => `- ${t.name}: ${t.description}`);
  try {
    const { value, calls } = await generateStructured(deps.router, {
      kind: 'plan',
      schema: planSchema(ctx),
      system: [
        robotPreamble(req.robot, 'tasks'),
        'Plan the goals as a DAG of subtasks: what can run in parallel runs in parallel, what needs an earlier result depends on it.',
        `Node kinds: ${NODE_KINDS.join(', ')} (plan, text, vision, extract, synthesize are model work; tool and command run a tool).`,
        `At most ${deps.maxNodes} nodes. Ids are unique; dependsOn lists ids of other nodes; no cycles.`,
        tools.length ? `Tools this robot may use:\n${tools.join('\n')}` : 'This robot may use no tools.',
        'Answer as JSON: {"nodes": [{"id", "title", "instructions", "kind", "dependsOn": [ids], "expectedOutput", "modelHint"?: "large"|"fast"|"vision", "tool"?, "args"?, "worker"?}]}.',
      ].join('\n'),
      user: `Task: ${req.task}\nGoals:\n${req.goals.map((g) => `- ${g.id}: ${g.title} → ${g.deliverable}`).join('\n')}${feedbackSection(req.feedback)}`,
      signal: deps.signal,
      maxRepairs: deps.maxRepairs,
      offline: () => offlinePlan(req.goals),
    });
    return { nodes: placeNodes(value.nodes as DagNodeSpec[], ctx), calls, repairs: calls.length - 1, source: 'planner' };
  } catch (err) {
    if (err instanceof ApplicationFailure && err.type === 'InvalidModelOutput') {
      throw ApplicationFailure.create({
        message: `the planner's task graph is still invalid after ${deps.maxRepairs} repair(s): ${err.message.replace(/^model output still invalid after \d+ repair\(s\): /, '')}`,
        type: 'InvalidPlan',
        nonRetryable: true,
        details: err.details as unknown[],
      });
    }
    throw err;
  }
}
