/**
 * The tool registry: a new tool is one file plus one line here. The planner lists these tools (those the robot
 * may use) in its prompt and checks node arguments against each tool's schema; the node activities look tools up
 * here; `placement` decides whether a node runs on the run's own workers or on a desktop's task queue.
 */
import { commandTool } from './command';
import { httpFetchTool } from './http-fetch';
import type { ToolDefinition } from './types';

export const TOOLS: Record<string, ToolDefinition<any>> = {
  http_fetch: httpFetchTool,
  command: commandTool,
};

export function getTool(name: string): ToolDefinition<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(TOOLS, name) ? TOOLS[name] : undefined;
}

export type { ToolContext, ToolDefinition, ToolPlacement, ToolResult } from './types';
