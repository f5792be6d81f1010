/**
 * The stage activities (the Tasks stage is a planner activity plus one activity per node, see activities/dag).
 * Each is a thin wrapper that heartbeats (so cancellation and worker death are
 * noticed within a second or two), hands the activity's AbortSignal to the model calls, and records metrics.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { Metrics } from '../../lib/metrics';
import type { StageInput, StageName, StageResult } from '../../workflows/types';
import type { ModelRouter } from '../models/router';
import type { StageContext } from './context';
import { delivery } from './delivery';
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
    const beat = () => activity.heartbeat(details);
    beat();
    const timer = setInterval(beat, deps.heartbeatMs ?? 1000);
    const started = process.hrtime.bigint();
    let outcome = 'failed';
    try {
      const result = await impl(
        {
          router: deps.router,
          signal: activity.cancellationSignal,
          maxRepairs: deps.maxRepairs ?? 2,
          checkpoint: (d) => {
            details = d;
            beat();
          },
          previousCheckpoint: <T>() => activity.info.heartbeatDetails as T | undefined,
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
  };
}

export type StageActivities = ReturnType<typeof createStageActivities>;
