/** Every activity the worker registers, built from its dependencies. */
import { createHostActivities } from './host';
import { createNotifyActivities, NotifyDeps } from './notify';
import { createRobotActivities, RobotActivityDeps } from './robots';
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps & Pick<RobotActivityDeps, 'slotCheckSeconds'> & { notify?: NotifyDeps };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createStageActivities(deps),
    ...createHostActivities({ router: deps.router, maxRepairs: deps.maxRepairs }),
    ...createNotifyActivities(deps.notify),
    ...createRobotActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
