/**
 * chatIntegrationWorkflow: one check or set-up of a robot's chat integration on a worker (where bot tokens are
 * resolved): test the credentials with the platform, set Telegram's webhook or register Discord's commands on
 * connect, remove the webhook on disconnect. The API runs it for /api/robots/:id/integrations and waits for it.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ChatActivities } from '../activities/chat';
import type { ChatIntegrationTask, ChatIntegrationTaskResult } from '../contracts/messages';

const { chatIntegrationTask } = proxyActivities<ChatActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumAttempts: 2 } });

export async function chatIntegrationWorkflow(task: ChatIntegrationTask): Promise<ChatIntegrationTaskResult> {
  return chatIntegrationTask(task);
}
