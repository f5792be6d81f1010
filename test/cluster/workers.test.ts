/**
 * Workers on the cluster, each a real `workers/main.ts` process: two share one task queue (both take work, every
 * run completes, no activity runs twice), and a worker SIGKILLed in the middle of a model call is replaced by
 * another that finishes the run without repeating any call that had completed (counted at the fake provider).
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { robotRunWorkflow } from '../../workflows';
import type { RunInput, RunState } from '../../contracts/run';
import { FakeLlm, pipelineResponder, RecordedCall, ScriptedReply, startFakeLlm } from '../helpers/fake-llm';
import { createTestEnv, eventually, TEST_NAMESPACE } from '../../testkit/temporal';
import { spawnWorkerProcess, within, withWorkerLogs, WorkerProcess } from '../../testkit/worker-process';
import { activityStarts, cluster, RUN_ACTIVITIES } from './cluster-env';

let env: TestWorkflowEnvironment;
let llm: FakeLlm;
const workers: WorkerProcess[] = [];
const output: string[] = [];
let releaseHeld = () => {};

const input = (task: string): RunInput => ({
  task,
  robot: { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 },
  trigger: 'api',
  options: { retryInitialIntervalMs: 200 },
});

/** A worker process on the cluster, polling `queue`; resolves once it polls. */
async function startWorker(name: string, queue: string): Promise<WorkerProcess> {
  const w = spawnWorkerProcess(
    name,
    {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: TEST_NAMESPACE,
      MC_TASK_QUEUE: queue,
      MC_MODEL_PROVIDER: 'openai-compatible',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      MC_SHUTDOWN_GRACE_SECONDS: '1',
    },
    output,
  );
  workers.push(w);
  await eventually(async () => output.some((l) => l.startsWith(`[${name} stdout]`) && l.includes('polling task queue')), 60_000, 100);
  return w;
}

async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await w.exited;
}

beforeAll(async () => {
  cluster();
  [env, llm] = await Promise.all([createTestEnv(), startFakeLlm(pipelineResponder())]);
});

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.exited));
  releaseHeld();
  await llm?.close();
  await env?.teardown();
});

test('When two worker processes share the task queue, then both take work, every run is Done, and no activity runs twice', async () => {
  await withWorkerLogs(output, async () => {
    // Each model call takes a moment, so the runs overlap and both workers' pollers get tasks.
    const answer = pipelineResponder();
    llm.setResponder(async (call, index) => ({ ...(await answer(call, index)), delayMs: 150 }));
    const callsBefore = llm.calls.length;
    const queue = `cluster-share-${randomUUID()}`;
    const [a, b] = await Promise.all([startWorker('share-A', queue), startWorker('share-B', queue)]);
    const ids = Array.from({ length: 8 }, () => `run-share-${randomUUID()}`);
    const handles = await Promise.all(
      ids.map((workflowId, i) => env.client.workflow.start(robotRunWorkflow, { taskQueue: queue, workflowId, args: [input(`Shared queue run ${i}`)] })),
    );
    const states = (await Promise.all(handles.map((h) => h.result()))) as RunState[];
    expect(states.map((s) => s.status)).toEqual(ids.map(() => 'Done'));

    const perRun = await Promise.all(ids.map((id) => activityStarts(env.client, id)));
    // Each run: inspiration, goals, the graph's plan, its one node and the node's check, validation, delivery:
    // every activity started once, on its first attempt.
    for (const [i, starts] of perRun.entries()) {
      expect({ id: ids[i], types: starts.map((e) => e.type).sort() }).toEqual({ id: ids[i], types: RUN_ACTIVITIES });
    }
    const executions = perRun.flat();
    expect(executions.filter((e) => e.attempt !== 1)).toEqual([]);
    const byWorker = new Map<string, number>();
    for (const e of executions) byWorker.set(e.identity!, (byWorker.get(e.identity!) ?? 0) + 1);
    const pids = [a.child.pid, b.child.pid].map(String);
    expect([...byWorker.keys()].map((id) => id.split('@')[0]).sort()).toEqual([...pids].sort());
    // And the provider was asked exactly once per model call (7 per run here).
    expect(llm.calls.slice(callsBefore).filter((c) => c.completed)).toHaveLength(ids.length * 7);
    expect(llm.calls.slice(callsBefore)).toHaveLength(ids.length * 7);
    await Promise.all([stopWorker(a), stopWorker(b)]);
  });
});

test('When the worker is SIGKILLed in the middle of a model call and another starts, then the run is Done and only the interrupted call is made again', async () => {
  await withWorkerLogs(output, async () => {
    const seen: { stage: string; call: RecordedCall }[] = [];
    const answer = pipelineResponder((call, stage) => {
      seen.push({ stage, call });
      return undefined;
    });
    const held = new Promise<ScriptedReply>((resolve) => {
      releaseHeld = () => resolve({ content: 'too late' });
    });
    let first: RecordedCall | undefined;
    llm.setResponder((call, index) => {
      const reply = answer(call, index);
      if (seen.at(-1)?.stage === 'tasks.run' && !first) {
        first = call;
        return held;
      }
      return reply;
    });
    const queue = `cluster-crash-${randomUUID()}`;
    const a = await startWorker('crash-A', queue);
    const workflowId = `run-crash-${randomUUID()}`;
    const handle = await env.client.workflow.start(robotRunWorkflow, { taskQueue: queue, workflowId, args: [input('Survive a worker crash on the cluster')] });

    await eventually(async () => first !== undefined, 60_000, 100);
    a.child.kill('SIGKILL');
    expect(await within(5_000, a.exited, 'worker A exit after SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await eventually(async () => first!.aborted, 5_000, 25);
    releaseHeld();

    await startWorker('crash-B', queue);
    const state = (await within(60_000, handle.result(), 'run result after the restart')) as RunState;
    expect(state.status).toBe('Done');
    const count = (stage: string) => seen.filter((s) => s.stage === stage).length;
    expect(Object.fromEntries(['inspiration', 'goals', 'tasks.plan', 'tasks.run', 'tasks.validate', 'validation', 'delivery'].map((s) => [s, count(s)]))).toEqual({
      inspiration: 1,
      goals: 1,
      'tasks.plan': 1,
      'tasks.run': 2,
      'tasks.validate': 1,
      validation: 1,
      delivery: 1,
    });
    expect(seen.filter((s) => s.call.aborted).map((s) => s.call)).toEqual([first]);
    // In history: the node's activity ran a second time after the server noticed the dead worker (heartbeat timeout).
    const node = (await activityStarts(env.client, workflowId)).filter((e) => e.type === 'runDagNode');
    expect(node.map((e) => e.attempt)).toEqual([2]);
  });
});
