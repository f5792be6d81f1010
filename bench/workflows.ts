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

/** A node of the bare task graph: what it waits for, and how long its activity sleeps. */
export interface BareDagNode {
  id: string;
  dependsOn: string[];
  ms: number;
}

const { sleepFor } = proxyActivities<{ sleepFor(ms: number): Promise<void> }>({
  startToCloseTimeout: '600s',
  heartbeatTimeout: '10s',
  retry: { initialInterval: 1000, backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

/**
 * The baseline of bench/dag.ts: the same graph run start-when-ready by the plainest workflow — each node one
 * activity that sleeps its planned latency, started as soon as its dependencies are done. Returns each node's
 * start and finish in workflow time, as a robot run's node states record them.
 */
export async function bareDagWorkflow(nodes: BareDagNode[]): Promise<Record<string, { startedAt: number; finishedAt: number }>> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const times: Record<string, { startedAt: number; finishedAt: number }> = {};
  const finished = new Map<string, Promise<void>>();
  const run = (n: BareDagNode): Promise<void> => {
    let p = finished.get(n.id);
    if (!p) {
      p = Promise.all(n.dependsOn.map((d) => run(byId.get(d)!))).then(async () => {
        const startedAt = Date.now();
        await sleepFor(n.ms);
        times[n.id] = { startedAt, finishedAt: Date.now() };
      });
      finished.set(n.id, p);
    }
    return p;
  };
  await Promise.all(nodes.map(run));
  return times;
}
