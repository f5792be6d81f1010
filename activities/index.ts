/** Every activity the worker registers, built from its dependencies. */
import { createHostActivities } from './host';
import { createNotifyActivities, NotifyDeps } from './notify';
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps & { notify?: NotifyDeps };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createStageActivities(deps),
    ...createHostActivities({ router: deps.router, maxRepairs: deps.maxRepairs }),
    ...createNotifyActivities(deps.notify),
  };
}

export type Activities = ReturnType<typeof createActivities>;
