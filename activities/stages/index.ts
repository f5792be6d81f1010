/**
 * The stage activities (the Tasks stage is a planner activity plus one activity per node, see activities/dag).
 * Each runs in the activity runtime (../runtime.ts: heartbeat, cancellation, metrics, budget guard, checkpoints);
 * a stage stopped by the budget resumes from its checkpoint when the workflow calls it again after a raise.
 */
import type { StageInput, StageResult } from '../../contracts/activities';
import type { StageName } from '../../contracts/pipeline';
import type { ActivityDeps } from '../deps';
import { createActivityRuntime } from '../runtime';
import type { StageContext } from './context';
import { deliverResult, delivery } from './delivery';
import { goals } from './goals';
import { inspiration } from './inspiration';
import { validation } from './validation';

type StageImpl = (ctx: StageContext, input: StageInput) => Promise<StageResult>;

export function createStageActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  const stage =
    (name: StageName, impl: StageImpl) =>
    (input: StageInput): Promise<StageResult> =>
      runtime.run({ stage: name, budget: input.budget, resumeFrom: input.resumeFrom }, (ctx) => impl(ctx, input));
  return {
    inspirationStage: stage('inspiration', inspiration),
    goalsStage: stage('goals', goals),
    validationStage: stage('validation', validation),
    deliveryStage: stage('delivery', delivery),
    /** Delivery takes effect (after the `final` gate, when there is one). No model call. */
    deliverResult,
  };
}

export type StageActivities = ReturnType<typeof createStageActivities>;
