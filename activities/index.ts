/** Every activity the worker registers, built from its dependencies. */
import { createRobotActivities, RobotActivityDeps } from './robots';
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps & Pick<RobotActivityDeps, 'slotCheckSeconds'>;

export function createActivities(deps: ActivityDeps) {
  return { ...createStageActivities(deps), ...createRobotActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
