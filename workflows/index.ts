/** Every workflow the worker hosts. The worker bundles this file (see workers/worker.ts). */
export { robotRunWorkflow, runStateQuery } from './robot-run';
