/**
 * Tasks: planned as a DAG by the `planDag` activity (activities/dag/planner.ts) and executed by the workflow
 * itself (workflows/dag-executor.ts), one activity per node, each node starting as soon as its own dependencies
 * are done. There is no single "tasks" activity any more: the later stages read the stage output defined here.
 */
export type { TaskOutcome, TasksOutput } from '../../workflows/dag';
