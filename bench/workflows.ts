/**
 * Workflows for the benchmarks: the real robotRunWorkflow, and the baseline it is compared with — a bare
 * workflow that calls as many no-op activities, in sequence, with the same timeouts and retry policy.
 */
import { proxyActivities } from '@temporalio/workflow';

export { robotRunWorkflow } from '../workflows/robot-run';

export interface BaselineActivities {
  noop(stage: string): Promise<string>;
}

const { noop } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '600s',
  heartbeatTimeout: '10s',
  retry: { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

export async function bareActivitiesWorkflow(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(await noop(`step-${i}`));
  return out;
}
