/**
 * generateRoleWorkflow: drafts a role description from a robot's name (`POST /api/robots/generate-role`).
 * The API holds no model client: model I/O stays in activities on the workers, with their retries and timeouts,
 * and the API just executes this short workflow and waits for its result.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { RobotActivities } from '../activities/robots';
import type { ModelCallRecord } from '../contracts/pipeline';
import { ROLE_DRAFT_OPTIONS } from './activity-options';

const { draftRole } = proxyActivities<RobotActivities>(ROLE_DRAFT_OPTIONS);

export async function generateRoleWorkflow(input: { name: string }): Promise<{ role: string; calls: ModelCallRecord[] }> {
  return draftRole(input);
}
