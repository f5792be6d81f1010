/**
 * Task-graph activities. The run's workers register `planDag`, `runDagNode` and `validateDagNode`; a desktop
 * (a named worker, workers/desktop.ts) registers only `runDesktopNode`, so a desktop tool can run nowhere else
 * and a desktop runs nothing but desktop tools. Each runs in the activity runtime (../runtime.ts), so a per-node
 * cancel or a run cancel reaches it within about a second and aborts its model call, fetch or child process, and
 * under a budget a request that would take the run past what the workflow granted this activity is refused unsent
 * (a non-retryable `BudgetExceeded` with the calls already made). Node activities keep no checkpoint: the
 * workflow bills those calls and runs the activity again after the budget gate.
 */
import type { NodeRunResult } from '../../contracts/dag';
import type { ModelCallRecord } from '../../contracts/pipeline';
import type { ActivityDeps } from '../deps';
import { createActivityRuntime } from '../runtime';
import { NodeRunRequest, NodeValidateRequest, NodeVerdictAnswer, runNode, validateNode } from './node';
import { planDag, PlanRequest, PlanResult } from './planner';

export function createDagActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  const { config, clock } = deps;
  return {
    async planDag(req: PlanRequest): Promise<PlanResult> {
      return runtime.run({ budget: req.budget }, ({ router, signal, maxRepairs }) =>
        planDag({ router, maxRepairs, maxNodes: config.MC_DAG_MAX_NODES, signal }, req),
      );
    },
    async runDagNode(req: NodeRunRequest): Promise<NodeRunResult> {
      return runtime.run({ budget: req.budget }, ({ router, signal }) => runNode({ router, config, clock, signal, placement: 'worker' }, req));
    },
    async validateDagNode(req: NodeValidateRequest): Promise<{ verdict: NodeVerdictAnswer; calls: ModelCallRecord[] }> {
      return runtime.run({ budget: req.budget }, ({ router, signal, maxRepairs }) => validateNode({ router, signal, maxRepairs }, req));
    },
  };
}

export type DagActivities = ReturnType<typeof createDagActivities>;

/** What a desktop worker registers: desktop tools only, reporting the queue they ran on. */
export function createDesktopActivities(deps: ActivityDeps & { queue: string }) {
  const runtime = createActivityRuntime(deps);
  const { config, clock, queue } = deps;
  return {
    async runDesktopNode(req: NodeRunRequest): Promise<NodeRunResult> {
      return runtime.run({ budget: req.budget }, ({ router, signal }) => runNode({ router, config, clock, signal, placement: 'desktop', queue }, req));
    },
  };
}

export type DesktopActivities = ReturnType<typeof createDesktopActivities>;
