/** Every workflow the worker hosts, and the messages clients send them. The worker bundles this file (see workers/worker.ts). */
export {
  decideUpdate,
  decisionSignal,
  hostConfirmUpdate,
  hostMessageUpdate,
  robotRunWorkflow,
  runStateQuery,
} from './robot-run';
export { approveNodeUpdate, cancelNodeUpdate, retryNodeUpdate } from './dag-executor';
export { robotSlotsWorkflow, robotSlotsQuery } from './robot-slots';
export { robotContinuousWorkflow, continuousStateQuery, continuousUpdateSignal } from './robot-continuous';
export { generateRoleWorkflow } from './generate-role';
