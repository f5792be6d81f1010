/**
 * One task-graph node: a model call routed by the node's kind (and hint, and the robot's overrides), or a
 * registry tool; then, separately, its validation (a structured verdict against the expected output).
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Config } from '../../lib/config';
import type { Clock } from '../clock';
import { isModelKind, NodeRunResult, PlannedNode } from '../../contracts/dag';
import type { BudgetAllowance } from '../../contracts/gates';
import type { ModelCallRecord } from '../../contracts/pipeline';
import type { RobotSnapshot } from '../../contracts/run';
import type { ModelRouter, RoutePrefs } from '../models/router';
import { generateStructured, generateText } from '../models/structured';
import { headline, robotPreamble } from '../stages/context';
import { getTool, ToolPlacement } from '../tools';
import { robotTools } from './planner';

export interface NodeInput {
  id: string;
  title: string;
  output: string;
}

export interface NodeRunRequest {
  runId: string;
  task: string;
  robot: RobotSnapshot;
  node: PlannedNode;
  /** Outputs of the node's dependencies (already bounded by the workflow). */
  inputs: NodeInput[];
  /** The validator's feedback on the previous answer, when this is a re-run. */
  feedback?: string;
  /** What this activity may spend of the run's budget; a request that would overspend it is refused unsent. */
  budget?: BudgetAllowance;
}

export interface NodeDeps {
  router: ModelRouter;
  config: Config;
  clock: Clock;
  signal: AbortSignal;
  /** Where this activity runs: the run's workers, or a desktop. */
  placement: ToolPlacement;
  queue?: string;
}

/**
 * Cap an output at `max` characters with a note of what was dropped. Outputs stay inside history (no blob store
 * is needed by the embedded default, and replays see the same bytes); the cap keeps every payload small.
 */
export function capOutput(text: string, max: number): { output: string; truncated: boolean } {
  if (text.length <= max) return { output: text, truncated: false };
  return { output: `${text.slice(0, max)}\n\n[truncated: ${text.length - max} of ${text.length} characters dropped]`, truncated: true };
}

/** Routing preferences of a node: the planner's hint, then the robot's stage and kind overrides. */
export function nodePrefs(robot: RobotSnapshot, node: PlannedNode): RoutePrefs {
  const stage = robot.routing?.stages?.tasks;
  const kind = robot.routing?.kinds?.[node.kind];
  return { hint: node.modelHint, ...(stage ? { stage: { name: 'tasks', override: stage } } : {}), ...(kind ? { kind } : {}) };
}

export async function runNode(deps: NodeDeps, req: NodeRunRequest): Promise<NodeRunResult> {
  const { node } = req;
  const max = deps.config.MC_NODE_OUTPUT_MAX_CHARS;
  if (isModelKind(node.kind)) {
    const inputs = req.inputs.map((i) => `## [${i.id}] ${i.title}\n${i.output}`).join('\n\n');
    const answer = await generateText(deps.router, {
      kind: node.kind,
      system: `${robotPreamble(req.robot, 'tasks')}\nDo this task and answer with its result only.`,
      user: [
        `Overall task: ${req.task}`,
        `This task: ${node.title}`,
        `Instructions: ${node.instructions}`,
        `Expected output: ${node.expectedOutput}`,
        inputs ? `\nResults of the tasks this one depends on:\n${inputs}` : '',
        req.feedback ? `\nA reviewer rejected your previous answer: ${req.feedback}\nAnswer again, fixing that.` : '',
      ]
        .filter(Boolean)
        .join('\n'),
      signal: deps.signal,
      prefs: nodePrefs(req.robot, node),
      simulatedLatencyMs: node.simulatedLatencyMs,
      offlineAnswer: () =>
        `[${node.id}] ${node.title}: ${node.expectedOutput} for "${headline(req.task, 10)}" (offline model).` +
        (req.inputs.length ? ` Built on ${req.inputs.map((i) => `[${i.id}] (${i.output.length} chars)`).join(', ')}.` : '') +
        (req.feedback ? ' Revised after review.' : ''),
    });
    const capped = capOutput(answer.value, max);
    return { ...capped, outputChars: answer.value.length, calls: answer.calls, model: answer.calls[0].model, reason: answer.calls[0].reason ?? '' };
  }

  const toolName = node.tool ?? (node.kind === 'command' ? 'command' : '');
  const tool = getTool(toolName);
  const fail = (message: string) => ApplicationFailure.create({ message, type: 'ToolRefused', nonRetryable: true });
  if (!tool) throw fail(`node ${node.id}: unknown tool "${toolName}"`);
  // Checked again here, not only by the planner: an activity must not trust its input to have been planned.
  if (!robotTools(req.robot).includes(tool.name)) throw fail(`node ${node.id}: robot "${req.robot.name}" may not use tool "${tool.name}"`);
  if (tool.placement !== deps.placement) {
    throw fail(`node ${node.id}: tool "${tool.name}" runs on ${tool.placement === 'desktop' ? 'a desktop worker' : 'the run workers'}, not here`);
  }
  const args = tool.args.safeParse(node.args ?? {});
  if (!args.success) throw fail(`node ${node.id}: bad arguments for ${tool.name}: ${args.error.issues.map((i) => i.message).join('; ')}`);
  const started = deps.clock.now();
  const result = await tool.run(args.data, { signal: deps.signal, config: deps.config, queue: deps.queue });
  const capped = capOutput(result.text, max);
  return {
    ...capped,
    outputChars: result.text.length,
    calls: [],
    model: `tool:${tool.name}`,
    reason: `${node.kind} node → tool ${tool.name} (${tool.placement}${deps.queue ? ` queue ${deps.queue}` : ''}, ${deps.clock.now() - started} ms)`,
    ranOn: result.ranOn,
  };
}

export const NodeVerdictSchema = z.object({ passed: z.boolean(), feedback: z.string() });
export type NodeVerdictAnswer = z.infer<typeof NodeVerdictSchema>;

export interface NodeValidateRequest {
  runId: string;
  task: string;
  robot: RobotSnapshot;
  node: PlannedNode;
  output: string;
  /** What this activity may spend of the run's budget; a request that would overspend it is refused unsent. */
  budget?: BudgetAllowance;
}

export async function validateNode(
  deps: { router: ModelRouter; signal: AbortSignal; maxRepairs: number },
  req: NodeValidateRequest,
): Promise<{ verdict: NodeVerdictAnswer; calls: ModelCallRecord[] }> {
  const { value, calls } = await generateStructured(deps.router, {
    kind: 'validate',
    schema: NodeVerdictSchema,
    system: `${robotPreamble(req.robot, 'tasks')}\nCheck this result against its expected output. Answer as JSON: {"passed": boolean, "feedback": string} (feedback says what to fix when it fails).`,
    user: `Overall task: ${req.task}\nTask ${req.node.id}: ${req.node.title}\nExpected output: ${req.node.expectedOutput}\nResult:\n${req.output}`,
    signal: deps.signal,
    maxRepairs: deps.maxRepairs,
    offline: () =>
      req.output.trim().length > 0 ? { passed: true, feedback: 'Result present and on topic.' } : { passed: false, feedback: 'The result is empty.' },
  });
  return { verdict: value, calls };
}
