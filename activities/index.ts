/** Every activity the run workers register, built from their dependencies (desktops register their own, see workers/desktop.ts). */
import type { Config } from '../lib/config';
import { createDagActivities } from './dag';
import { createStageActivities, StageDeps } from './stages';

export type ActivityDeps = StageDeps & { config: Config };

export function createActivities(deps: ActivityDeps) {
  return { ...createStageActivities(deps), ...createDagActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
