/**
 * Every workflow the worker hosts. The worker bundles this file (see workers/worker.ts); clients import the
 * message definitions from contracts/messages.ts and start workflows by these functions (or their type names).
 */
export { robotRunWorkflow } from './robot-run';
export { robotSlotsWorkflow } from './robot-slots';
export { robotContinuousWorkflow } from './robot-continuous';
export { generateRoleWorkflow } from './generate-role';
export { chatConversationWorkflow } from './chat-conversation';
export { chatIntegrationWorkflow } from './chat-integration';
export { sessionRevocationsWorkflow } from './session-revocations';
