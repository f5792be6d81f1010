/**
 * What the task graph hands on, kept small. Node outputs are capped by the node activity
 * (MC_NODE_OUTPUT_MAX_CHARS); the inputs a node receives are cut to MAX_NODE_INPUT_CHARS in total and the Tasks
 * stage output to MAX_STAGE_OUTPUT_CHARS, so no payload nears Temporal's 2 MB limit; the run state keeps only a
 * preview of each output.
 */
import { DagNodeState, NodeStatus, sinks, TaskOutcome, TasksOutput } from '../../contracts/dag';
import type { StageResult } from '../../contracts/activities';
import type { Graph } from './graph';

/** Total characters of dependency outputs handed to one node. */
export const MAX_NODE_INPUT_CHARS = 32_000;
/** Total characters of node results in the Tasks stage output (read by Validation and Delivery). */
export const MAX_STAGE_OUTPUT_CHARS = 400_000;
/** Characters of each node output kept in the run state. */
export const OUTPUT_PREVIEW_CHARS = 500;

export const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`);

/** The outputs of a node's dependencies, as the node receives them. */
export function inputsOf(graph: Graph, n: DagNodeState) {
  const per = Math.floor(MAX_NODE_INPUT_CHARS / Math.max(1, n.dependsOn.length));
  return n.dependsOn.map((id) => ({ id, title: graph.node(id)!.title, output: cut(graph.outputs.get(id) ?? '', per) }));
}

/** Rolling summary: what the finished nodes found, newest last; cheap and deterministic (no model call). */
export function updateSummary(graph: Graph): void {
  const dag = graph.dag!;
  const done = dag.nodes.filter((n) => n.status === 'done').length;
  const lines = graph.finishedOrder
    .filter((id) => graph.node(id)?.status === 'done')
    .slice(-12)
    .map((id) => `- ${graph.node(id)!.title}: ${cut((graph.outputs.get(id) ?? '').replace(/\s+/g, ' '), 200)}`);
  dag.summary = `${done}/${dag.nodes.length} node(s) done.\n${lines.join('\n')}`;
}

/** The graph's result: the outputs of its end nodes (those nothing depends on) that are done. */
export function collectResult(graph: Graph): void {
  const dag = graph.dag!;
  const ends = sinks(dag.nodes).filter((id) => graph.node(id)!.status === 'done');
  if (ends.length) dag.result = ends.map((id) => graph.outputs.get(id) ?? '').join('\n\n');
}

export function stageResult(graph: Graph): StageResult<TasksOutput> {
  const dag = graph.dag!;
  const per = Math.floor(MAX_STAGE_OUTPUT_CHARS / dag.nodes.length);
  const tasks: TaskOutcome[] = dag.nodes.map((n) => ({
    id: n.id,
    title: n.title,
    kind: n.kind,
    status: n.status,
    expectedOutput: n.expectedOutput,
    result: cut(graph.outputs.get(n.id) ?? '', per),
    validation: n.validation.at(-1),
  }));
  const count = (s: NodeStatus) => dag.nodes.filter((n) => n.status === s).length;
  const parts = (['done', 'failed', 'skipped', 'cancelled'] as const).filter((s) => count(s)).map((s) => `${count(s)} ${s}`);
  return {
    output: { tasks, summary: dag.summary, result: dag.result && cut(dag.result, per * 4) },
    summary: `${dag.nodes.length} node(s): ${parts.join(', ')}`,
    calls: graph.calls,
  };
}
