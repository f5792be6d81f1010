/**
 * The stage activities (the Tasks stage is a planner activity plus one activity per node, see activities/dag).
 * Each runs in the activity runtime (../runtime.ts: heartbeat, cancellation, metrics, budget guard, checkpoints);
 * a stage stopped by the budget resumes from its checkpoint when the workflow calls it again after a raise.
 */
import type { StageInput, StageResult } from '../../contracts/activities';
import type { StageName } from '../../contracts/pipeline';
import { isClaimCheck, type ClaimCheck } from '../../contracts/artifacts';
import { artifactDir, createArtifactStore } from '../../lib/artifact-store';
import { offloadIfLarge, resolveClaimChecks } from '../claim-check';
import type { ActivityDeps } from '../deps';
import { createActivityRuntime } from '../runtime';
import type { StageContext } from './context';
import { deliverResult, delivery } from './delivery';
import { goals } from './goals';
import { inspiration } from './inspiration';
import { validation } from './validation';

type StageImpl = (ctx: StageContext, input: StageInput) => Promise<StageResult>;

/** The artifact a stage's output too large for history is kept in (the claim check). */
export const stageOutputArtifact = (stage: StageName) => `${stage}-output.json`;

/**
 * Stage activities. Claim check (../claim-check.ts): outputs of earlier stages that were too large for history
 * arrive as references and are read back before the stage runs; an output of this stage larger than
 * MC_INLINE_OUTPUT_MAX_BYTES is stored as `<stage>-output.json` and returned as a reference with a preview. Goals
 * are never offloaded: the workflow plans the task graph from them (their schema keeps them small).
 */
export function createStageActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  const store = deps.artifacts ?? createArtifactStore(artifactDir(deps.config));
  const stage =
    (name: StageName, impl: StageImpl) =>
    (input: StageInput): Promise<StageResult> =>
      runtime.run({ stage: name, budget: input.budget, resumeFrom: input.resumeFrom }, async (ctx) => {
        const needsRead = Object.values(input.context).some(isClaimCheck);
        const context = needsRead ? await resolveClaimChecks(store, input.runId, input.context) : input.context;
        const result = await impl(ctx, { ...input, context });
        if (name === 'goals') return result;
        const output: unknown | ClaimCheck = await offloadIfLarge(store, deps.config.MC_INLINE_OUTPUT_MAX_BYTES, input.runId, stageOutputArtifact(name), `stage:${name}`, result.output);
        return { ...result, output };
      });
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
