/** Every workflow the worker hosts. The worker bundles this file (see workers/worker.ts). */
export {
  decideUpdate,
  decisionSignal,
  hostConfirmUpdate,
  hostMessageUpdate,
  robotRunWorkflow,
  runStateQuery,
} from './robot-run';
export { robotSlotsWorkflow, robotSlotsQuery } from './robot-slots';
export { robotContinuousWorkflow, continuousStateQuery, continuousUpdateSignal } from './robot-continuous';
export { generateRoleWorkflow } from './generate-role';
