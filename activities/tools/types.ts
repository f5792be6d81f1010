/** The shape every tool of the registry (./index.ts) has. */
import type { z } from 'zod';
import type { Config } from '../../lib/config';

/**
 * `worker`: any worker of the run's task queue may run it. `desktop`: only a named worker ("desktop") that
 * registered the desktop activities; the workflow routes the node to that worker's task queue.
 */
export type ToolPlacement = 'worker' | 'desktop';

export interface ToolContext {
  /** Aborted when the node's activity is cancelled (run cancel or per-node cancel). */
  signal: AbortSignal;
  config: Config;
  /** Task queue of the worker running the tool (reported by desktop tools). */
  queue?: string;
}

export interface ToolResult {
  /** The node's output. */
  text: string;
  /** Facts about the execution worth showing in the run state (machine, queue, status code...). */
  ranOn?: Record<string, unknown>;
}

export interface ToolDefinition<A = unknown> {
  name: string;
  /** One line the planner prompt shows. */
  description: string;
  /** Arguments, checked when the graph is planned (bad arguments are fed back to the planner) and again at run time. */
  args: z.ZodType<A>;
  placement: ToolPlacement;
  run(args: A, ctx: ToolContext): Promise<ToolResult>;
}

/** Typed helper so that each tool file infers its argument type from its schema. */
export const defineTool = <A>(tool: ToolDefinition<A>): ToolDefinition<A> => tool;
