/**
 * The visibility mirror of a run (search attributes and memo, what lists and the board read without a worker)
 * follows changes of status, gate and error only: every workflow task that upserts costs the server a visibility
 * write, and one per stage was most of what a robot run cost it more than a bare workflow (docs/benchmarks.md).
 * What is mirrored must still be right whenever it is written: at a gate, at the end.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { robotRunWorkflow } from '../workflows';
import { decideUpdate } from '../contracts/messages';
import type { RunInput, RunMemo } from '../contracts/run';
import { McStage, McStatus } from '../contracts/search-attributes';
import { profileOf } from '../testkit/history-profile';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

let env: TestWorkflowEnvironment;
let worker: Worker;
let workerDone: Promise<void>;
const config = testConfig({ MC_OFFLINE_DELAY_MS: '0' });
const robot = { id: 'mirror', name: 'Mirror', role: 'Tester', version: 0 };

beforeAll(async () => {
  env = await createTestEnv();
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

function start(input: Omit<RunInput, 'robot' | 'trigger'>) {
  return env.client.workflow.start(robotRunWorkflow, {
    taskQueue: config.MC_TASK_QUEUE,
    workflowId: `run-${randomUUID()}`,
    args: [{ robot, trigger: 'api', ...input }],
  });
}

async function mirrored(id: string) {
  const d = await env.client.workflow.getHandle(id).describe();
  return { status: d.typedSearchAttributes.get(McStatus), stage: d.typedSearchAttributes.get(McStage), memo: d.memo?.run as RunMemo | undefined };
}

test('When a run goes through its five stages, then it writes visibility in two workflow tasks, and the last write shows every stage done', async () => {
  const handle = await start({ task: `Mirror ${randomUUID()}` });
  const state = await handle.result();
  expect(state.status).toBe('Done');
  const profile = profileOf((await handle.fetchHistory()).events ?? []);
  // It starts running (with the patch markers of the first workflow task) and it is done: no write per stage.
  expect(profile.upsertingTasks).toBe(2);
  expect(profile.activities).toBeGreaterThanOrEqual(5);
  const shown = await mirrored(handle.workflowId);
  expect(shown.status).toBe('Done');
  expect(shown.stage).toBe('delivery');
  expect(shown.memo).toMatchObject({ status: 'Done', currentStage: 'delivery', offline: true });
  expect(Object.values(shown.memo!.stageStatus)).toEqual(['done', 'done', 'done', 'done', 'done']);
  expect(shown.memo!.usage.calls).toBe(state.usage.calls);
});

test('When a run waits at a gate, then visibility shows Review, the gate and the stages done before it; approved, it ends Done', async () => {
  const handle = await start({ task: `Gate ${randomUUID()}`, approvals: { gates: [{ at: 'validation', timeoutSeconds: 3600, onTimeout: 'reject' }] } });
  const atGate = await eventually(async () => {
    const m = await mirrored(handle.workflowId);
    return m.status === 'Review' ? m : undefined;
  });
  expect(atGate.memo?.gate?.gate).toBe('validation');
  expect(atGate.memo?.stageStatus).toMatchObject({ inspiration: 'done', goals: 'done', tasks: 'done', validation: 'pending' });
  expect(atGate.memo!.usage.calls).toBeGreaterThan(0);

  const decided = await handle.executeUpdate(decideUpdate, { args: [{ gate: 'validation', decision: 'approve', by: 'tester' }] });
  expect(decided.approvals.at(-1)).toMatchObject({ gate: 'validation', decision: 'approve' });
  expect((await handle.result()).status).toBe('Done');
  // Running, Review, Running again, Done.
  expect(profileOf((await handle.fetchHistory()).events ?? []).upsertingTasks).toBe(4);
  const done = (await mirrored(handle.workflowId)).memo;
  expect(done?.status).toBe('Done');
  expect(done?.gate).toBeUndefined();
});
