/** Every workflow the worker hosts, and the messages clients send them. The worker bundles this file (see workers/worker.ts). */
export { robotRunWorkflow, runStateQuery } from './robot-run';
export { approveNodeUpdate, cancelNodeUpdate, retryNodeUpdate } from './dag-executor';
