/**
 * The stage activities (the Tasks stage is a planner activity plus one activity per node, see activities/dag).
 * Each is a thin wrapper that heartbeats (so cancellation and worker death are
 * noticed within a second or two), hands the activity's AbortSignal to the model calls, and records metrics.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Metrics } from '../../lib/metrics';
import type { StageInput, StageResult } from '../../contracts/activities';
import type { StageName } from '../../contracts/pipeline';
import { BUDGET_EXCEEDED, BudgetExceededDetails, createBudgetGuard } from '../models/budget';
import type { ModelRouter } from '../models/router';
import type { StageContext } from './context';
import { deliverResult, delivery } from './delivery';
import { goals } from './goals';
import { inspiration } from './inspiration';
import { validation } from './validation';

export interface StageDeps {
  router: ModelRouter;
  metrics?: Metrics;
  maxRepairs?: number;
  /** Heartbeat period in milliseconds (default 1000). */
  heartbeatMs?: number;
}

type StageImpl = (ctx: StageContext, input: StageInput) => Promise<StageResult>;

function stageActivity(stage: StageName, impl: StageImpl, deps: StageDeps) {
  return async (input: StageInput): Promise<StageResult> => {
    const activity = Context.current();
    let details: unknown = activity.info.heartbeatDetails;
    // A stage stopped by the budget resumes from its progress; the calls in it were billed by the workflow already.
    const resumed =
      details === undefined && input.resumeFrom && typeof input.resumeFrom === 'object' ? { ...input.resumeFrom, calls: [] } : undefined;
    const guard = input.budget ? createBudgetGuard(input.budget) : undefined;
    const beat = () => activity.heartbeat(details);
    beat();
    const timer = setInterval(beat, deps.heartbeatMs ?? 1000);
    const started = process.hrtime.bigint();
    let outcome = 'failed';
    try {
      const result = await impl(
        {
          router: guard ? guard.wrap(deps.router) : deps.router,
          signal: activity.cancellationSignal,
          maxRepairs: deps.maxRepairs ?? 2,
          checkpoint: (d) => {
            details = d;
            if (guard) guard.checkpoint = d;
            beat();
          },
          previousCheckpoint: <T>() => (activity.info.heartbeatDetails ?? resumed) as T | undefined,
        },
        input,
      );
      outcome = 'done';
      if (deps.metrics) {
        for (const c of result.calls) {
          const labels = { provider: c.provider, model: c.model };
          deps.metrics.modelCalls.inc(labels);
          deps.metrics.modelTokens.inc({ ...labels, direction: 'input' }, c.inputTokens);
          deps.metrics.modelTokens.inc({ ...labels, direction: 'output' }, c.outputTokens);
          deps.metrics.modelCost.inc(labels, c.costUsd);
          deps.metrics.modelLatency.observe(labels, c.latencyMs / 1000);
        }
      }
      return result;
    } catch (err) {
      if (activity.cancellationSignal.aborted) {
        outcome = 'cancelled';
        throw err instanceof CancelledFailure ? err : new CancelledFailure(`${stage} cancelled`);
      }
      if (guard && err instanceof ApplicationFailure && err.type === BUDGET_EXCEEDED) {
        outcome = 'budget';
        // Calls a crashed earlier attempt made are in its checkpoint and were never reported: bill them too.
        const earlier = (activity.info.heartbeatDetails as { calls?: BudgetExceededDetails['calls'] } | undefined)?.calls ?? [];
        const refused = (err.details?.[0] ?? {}) as BudgetExceededDetails;
        throw ApplicationFailure.create({
          message: err.message,
          type: BUDGET_EXCEEDED,
          nonRetryable: true,
          details: [{ ...refused, calls: [...earlier, ...guard.billed], checkpoint: guard.checkpoint ?? resumed } satisfies BudgetExceededDetails],
        });
      }
      throw err;
    } finally {
      clearInterval(timer);
      deps.metrics?.stageDuration.observe({ stage, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}

/** Factory over the activities' dependencies (model router, metrics), as the worker registers them. */
export function createStageActivities(deps: StageDeps) {
  return {
    inspirationStage: stageActivity('inspiration', inspiration, deps),
    goalsStage: stageActivity('goals', goals, deps),
    validationStage: stageActivity('validation', validation, deps),
    deliveryStage: stageActivity('delivery', delivery, deps),
    /** Delivery takes effect (after the `final` gate, when there is one). No model call. */
    deliverResult,
  };
}

export type StageActivities = ReturnType<typeof createStageActivities>;
