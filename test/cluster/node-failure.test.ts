/**
 * The second cluster node (history + matching, holding some of the shards and task-queue partitions) is killed
 * with SIGKILL while runs are in flight. The first node takes its shards over; every run finishes Done and nothing
 * is done twice: each activity was started once (attempt 1 in history), and the provider got each model call once.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { shardOwners, startNode, stopNode } from '../../scripts/cluster';
import { robotRunWorkflow } from '../../workflows';
import type { RunState } from '../../contracts/run';
import { FakeLlm, pipelineResponder, startFakeLlm } from '../helpers/fake-llm';
import { startWorkerAt } from '../../testkit/dev-server';
import { createTestEnv, eventually } from '../../testkit/temporal';
import { within } from '../../testkit/worker-process';
import { activityStarts, cluster, clusterConfig, RUN_ACTIVITIES } from './cluster-env';

const RUNS = 10;
let env: TestWorkflowEnvironment;
let llm: FakeLlm;
let worker: { stop(): Promise<void> } | undefined;

beforeAll(async () => {
  cluster();
  const answer = pipelineResponder();
  // Each model call takes a while, so the runs are mid-pipeline when the node dies.
  [env, llm] = await Promise.all([createTestEnv(), startFakeLlm(async (call, i) => ({ ...(await answer(call, i)), delayMs: 700 }))]);
});

afterAll(async () => {
  await startNode('node2');
  await worker?.stop();
  await llm?.close();
  await env?.teardown();
});

test('When the second node is SIGKILLed mid-run, then its shards move to the first, every run in flight finishes Done, and no activity or model call is repeated', async () => {
  const state = cluster();
  // The second node holds shards before the kill (it is not a spare), so killing it moves work. How many the first
  // keeps is the membership ring's choice: with 4 shards it may hand all of them to the second node.
  await eventually(async () => [...shardOwners(state).values()].some((p) => p === state.ports.node2History), 30_000, 500);

  const config = clusterConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
  worker = await startWorkerAt(env.address, config);
  const ids = Array.from({ length: RUNS }, () => `run-node-${randomUUID()}`);
  const handles = await Promise.all(
    ids.map((workflowId, i) =>
      env.client.workflow.start(robotRunWorkflow, {
        taskQueue: config.MC_TASK_QUEUE,
        workflowId,
        args: [{ task: `Run ${i} across a node failure`, robot: { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 }, trigger: 'api' }],
      }),
    ),
  );
  // Mid-run: every run has made at least two of its seven model calls, and none has finished.
  await eventually(async () => llm.calls.length >= RUNS * 2, 60_000, 50);
  await stopNode('node2', 'SIGKILL');
  const killedAt = Date.now();
  const callsAtKill = llm.calls.length;
  expect(callsAtKill).toBeLessThan(RUNS * 7);

  const states = (await within(180_000, Promise.all(handles.map((h) => h.result())), 'runs after the node failure')) as RunState[];
  expect(states.map((s) => s.status)).toEqual(ids.map(() => 'Done'));
  const recoveredInMs = Date.now() - killedAt;

  // No activity ran twice: each activity of every run was started once, on its first attempt.
  for (const id of ids) {
    const starts = await activityStarts(env.client, id);
    expect({ id, types: starts.map((e) => e.type).sort(), attempts: starts.map((e) => e.attempt) }).toEqual({ id, types: RUN_ACTIVITIES, attempts: RUN_ACTIVITIES.map(() => 1) });
  }
  // And the provider saw each model call once: seven per run, none cut off.
  expect(llm.calls).toHaveLength(RUNS * 7);
  expect(llm.calls.filter((c) => c.aborted || !c.completed)).toEqual([]);

  // The first node owns every shard now.
  const after = shardOwners(state);
  expect([...after.values()].every((p) => p === state.ports.history)).toBe(true);
  console.log(`node2 SIGKILLed with ${RUNS * 7 - callsAtKill} of ${RUNS * 7} model calls to go; all runs Done ${Math.round(recoveredInMs / 1000)} s later`);
});
