/** Every workflow the worker hosts. The worker bundles this file (see workers/worker.ts). */
export {
  decideUpdate,
  decisionSignal,
  hostConfirmUpdate,
  hostMessageUpdate,
  robotRunWorkflow,
  runStateQuery,
} from './robot-run';
