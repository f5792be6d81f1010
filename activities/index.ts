/** Every activity the run workers register, built from their dependencies (desktops register their own, see workers/desktop.ts). */
import type { Config } from '../lib/config';
import { createDagActivities } from './dag';
import { createHostActivities } from './host';
import { createNotifyActivities, NotifyDeps } from './notify';
import { createRobotActivities, RobotActivityDeps } from './robots';
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps & Pick<RobotActivityDeps, 'slotCheckSeconds'> & { config: Config; notify?: NotifyDeps };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createStageActivities(deps),
    ...createDagActivities(deps),
    ...createHostActivities({ router: deps.router, maxRepairs: deps.maxRepairs }),
    ...createNotifyActivities(deps.notify),
    ...createRobotActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
