/** Building blocks for task-graph tests and recordings: a plain text node with sensible defaults. */
import type { DagNodeSpec } from '../contracts/dag';

export const node = (id: string, dependsOn: string[] = [], extra: Partial<DagNodeSpec> = {}): DagNodeSpec => ({
  id,
  title: `Step ${id}`,
  instructions: `Do ${id}`,
  kind: 'text',
  dependsOn,
  expectedOutput: `Result of ${id}`,
  ...extra,
});
