/** Every activity the worker registers, built from its dependencies. */
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps;

export function createActivities(deps: ActivityDeps) {
  return { ...createStageActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
