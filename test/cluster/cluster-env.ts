/**
 * What the cluster tests share: the cluster `npm run test:cluster` started (its state: ports, nodes, database),
 * and the app's real entry points (worker, API) configured for it, each on a connection of its own as they would
 * be on separate hosts.
 */
import type { Client } from '@temporalio/client';
import { readState, ClusterState } from '../../scripts/cluster';
import { RunningApi, startApi } from '../../api/main';
import { Config, loadConfig } from '../../lib/config';
import { createMetrics } from '../../lib/metrics';
import { TEST_NAMESPACE, testConfig } from '../../testkit/temporal';

/** The cluster under test; fails clearly when the file is run outside `npm run test:cluster`. */
export function cluster(): ClusterState {
  const state = process.env.TEMPORAL_ADDRESS && process.env.MC_CLUSTER_DIR ? readState(process.env.MC_CLUSTER_DIR) : undefined;
  if (!state) throw new Error('test/cluster/ runs against a temporal-server cluster: use `npm run test:cluster`');
  return state;
}

/** Configuration as a worker or API replica on the cluster would parse it (this file's namespace, own queue). */
export function clusterConfig(vars: Record<string, string> = {}): Config {
  return loadConfig({
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: TEST_NAMESPACE,
    MC_TASK_QUEUE: testConfig().MC_TASK_QUEUE,
    MC_MODEL_PROVIDER: 'offline',
    MC_SHUTDOWN_GRACE_SECONDS: '1',
    MC_WEBHOOK_KEY: 'cluster-test-webhook-key',
    MC_DATA_DIR: process.env.MC_CLUSTER_DIR as string,
    PORT: '0',
    ...vars,
  });
}

/** An API replica as `npm run api` runs it: its own connection (deadlines, retries), port 0. */
export function startReplica(config: Config): Promise<RunningApi> {
  return startApi(config, createMetrics({ defaultMetrics: false }));
}

/**
 * The activities one run of these tests makes (an ad-hoc robot without delivery destinations, a one-node task
 * graph), sorted by name: a run that repeated or skipped one would not match.
 */
export const RUN_ACTIVITIES = ['deliveryStage', 'goalsStage', 'inspirationStage', 'planDag', 'runDagNode', 'validateDagNode', 'validationStage'];

/** Activity starts in a run's history: type, attempt and the identity of the worker that ran it. */
export async function activityStarts(client: Client, workflowId: string): Promise<{ type?: string; attempt?: number | null; identity?: string | null }[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes!.activityType!.name!]));
  return events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => {
      const a = e.activityTaskStartedEventAttributes!;
      return { type: scheduled.get(String(a.scheduledEventId)), attempt: a.attempt, identity: a.identity };
    });
}
