/**
 * The activities a worker registers, built from their dependencies (./deps.ts): `createActivities` for the run
 * workers, `createDesktopActivities` for a desktop (workers/desktop.ts), which runs desktop tools and nothing else.
 * Everything that calls a model, notify and the delivery destinations run in the one activity runtime (./runtime.ts).
 */
import { createDagActivities } from './dag';
import { createDeliveryActivities } from './delivery';
import type { ActivityDeps } from './deps';
import { createHostActivities } from './host';
import { createNotifyActivities } from './notify';
import { createRobotActivities } from './robots';
import { createStageActivities } from './stages';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createStageActivities(deps),
    ...createDagActivities(deps),
    ...createHostActivities(deps),
    ...createNotifyActivities(deps),
    ...createRobotActivities(deps),
    ...createDeliveryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** What a desktop registers: `runDesktopNode` only. */
export { createDesktopActivities } from './dag';
export type { ActivityDeps } from './deps';
export { createActivityDeps } from './deps';
