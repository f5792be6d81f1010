/**
 * Task-graph activities. The run's workers register `planDag`, `runDagNode` and `validateDagNode`; a desktop
 * (a named worker, workers/desktop.ts) registers only `runDesktopNode`, so a desktop tool can run nowhere else
 * and a desktop runs nothing but desktop tools. Every activity heartbeats, so that a per-node cancel or a run
 * cancel reaches it within about a second and aborts its model call, fetch or child process.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Config } from '../../lib/config';
import type { Metrics } from '../../lib/metrics';
import type { NodeRunResult } from '../../contracts/dag';
import type { BudgetAllowance } from '../../contracts/gates';
import type { ModelCallRecord } from '../../contracts/pipeline';
import { createBudgetGuard } from '../models/budget';
import type { ModelRouter } from '../models/router';
import { NodeRunRequest, NodeValidateRequest, NodeVerdictAnswer, runNode, validateNode } from './node';
import { planDag, PlanRequest, PlanResult } from './planner';

export interface DagDeps {
  router: ModelRouter;
  config: Config;
  metrics?: Metrics;
  maxRepairs?: number;
  heartbeatMs?: number;
}

function recordCalls(metrics: Metrics | undefined, calls: ModelCallRecord[]) {
  if (!metrics) return;
  for (const c of calls) {
    const labels = { provider: c.provider, model: c.model };
    metrics.modelCalls.inc(labels);
    metrics.modelTokens.inc({ ...labels, direction: 'input' }, c.inputTokens);
    metrics.modelTokens.inc({ ...labels, direction: 'output' }, c.outputTokens);
    metrics.modelCost.inc(labels, c.costUsd);
    metrics.modelLatency.observe(labels, c.latencyMs / 1000);
  }
}

/** Runs `fn` with a heartbeat every `ms` and the activity's cancellation signal; cancellation surfaces as CancelledFailure. */
async function heartbeating<T extends { calls: ModelCallRecord[] }>(ms: number, metrics: Metrics | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const activity = Context.current();
  activity.heartbeat();
  const timer = setInterval(() => activity.heartbeat(), ms);
  try {
    const result = await fn(activity.cancellationSignal);
    recordCalls(metrics, result.calls);
    return result;
  } catch (err) {
    if (activity.cancellationSignal.aborted) throw err instanceof CancelledFailure ? err : new CancelledFailure('node cancelled');
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/**
 * The router an activity may use: under a budget, the same guard as the stages (activities/models/budget.ts), so a
 * request that would take the run past what the workflow granted this activity is refused before it is sent, with
 * a non-retryable `BudgetExceeded` failure carrying the calls already made and what the refused request needed.
 * Node activities keep no checkpoint: the workflow bills those calls and runs the activity again after the gate.
 */
const budgeted = (router: ModelRouter, budget: BudgetAllowance | undefined): ModelRouter =>
  budget ? createBudgetGuard(budget).wrap(router) : router;

export function createDagActivities(deps: DagDeps) {
  const ms = deps.heartbeatMs ?? 1000;
  const maxRepairs = deps.maxRepairs ?? deps.config.MC_MODEL_MAX_REPAIRS;
  return {
    async planDag(req: PlanRequest): Promise<PlanResult> {
      return heartbeating(ms, deps.metrics, (signal) =>
        planDag({ router: budgeted(deps.router, req.budget), maxRepairs, maxNodes: deps.config.MC_DAG_MAX_NODES, signal }, req),
      );
    },
    async runDagNode(req: NodeRunRequest): Promise<NodeRunResult> {
      return heartbeating(ms, deps.metrics, (signal) => runNode({ router: budgeted(deps.router, req.budget), config: deps.config, signal, placement: 'worker' }, req));
    },
    async validateDagNode(req: NodeValidateRequest): Promise<{ verdict: NodeVerdictAnswer; calls: ModelCallRecord[] }> {
      return heartbeating(ms, deps.metrics, (signal) => validateNode({ router: budgeted(deps.router, req.budget), signal, maxRepairs }, req));
    },
  };
}

export type DagActivities = ReturnType<typeof createDagActivities>;

/** What a desktop worker registers: desktop tools only, reporting the queue they ran on. */
export function createDesktopActivities(deps: DagDeps & { queue: string }) {
  const ms = deps.heartbeatMs ?? 1000;
  return {
    async runDesktopNode(req: NodeRunRequest): Promise<NodeRunResult> {
      return heartbeating(ms, deps.metrics, (signal) =>
        runNode({ router: budgeted(deps.router, req.budget), config: deps.config, signal, placement: 'desktop', queue: deps.queue }, req),
      );
    },
  };
}

export type DesktopActivities = ReturnType<typeof createDesktopActivities>;
