/**
 * Graceful shutdown of the real worker process: SIGTERM while a stage's model call is in flight lets that call
 * and its activity finish (within MC_SHUTDOWN_GRACE_SECONDS), reports the result to Temporal, then exits 0.
 */
import { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { robotRunWorkflow } from '../workflows';
import { FakeLlm, pipelineResponder, RecordedCall, startFakeLlm } from './helpers/fake-llm';
import { createTestEnv, eventually } from '../testkit/temporal';
import { spawnWorkerProcess, within } from '../testkit/worker-process';

const robot = { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 };
const GRACE_SECONDS = 10;
const SLOW_MS = 2_000;

let env: TestWorkflowEnvironment;
let llm: FakeLlm;
let child: ChildProcess | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
const output: string[] = [];

beforeAll(async () => {
  [env, llm] = await Promise.all([createTestEnv(), startFakeLlm(pipelineResponder())]);
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
  await llm?.close();
  await env?.teardown();
});

test('When the worker gets SIGTERM during a stage, then the stage finishes, its result reaches Temporal and the process exits 0 within the grace period', async () => {
  try {
    const slow: RecordedCall[] = [];
    const answer = pipelineResponder((call, stage) => {
      if (stage === 'inspiration') slow.push(call);
      return undefined;
    });
    // The usual valid answers; the inspiration one arrives after SLOW_MS.
    llm.setResponder(async (call, index) => {
      const reply = await answer(call, index);
      return slow.includes(call) ? { ...reply, delayMs: SLOW_MS } : reply;
    });
    const taskQueue = `shutdown-${randomUUID()}`;
    const w = spawnWorkerProcess('worker', {
      TEMPORAL_ADDRESS: env.address,
      MC_TASK_QUEUE: taskQueue,
      MC_MODEL_PROVIDER: 'openai-compatible',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      MC_SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    }, output);
    const proc = w.child;
    child = proc;
    exited = w.exited;

    const workflowId = `run-shutdown-${randomUUID()}`;
    const handle = await env.client.workflow.start(robotRunWorkflow, {
      taskQueue,
      workflowId,
      args: [{ task: 'Shut down gracefully', robot, trigger: 'api', options: { retryInitialIntervalMs: 200 } }],
    });

    // The inspiration request is at the provider (answer due in SLOW_MS): stop the worker now.
    const call = await eventually(async () => slow[0], 60_000, 20);
    expect(call.completed).toBe(false);
    const signalledAt = Date.now();
    proc.kill('SIGTERM');
    const exit = await within((GRACE_SECONDS + 10) * 1000, exited, 'worker exit after SIGTERM');
    const elapsedMs = Date.now() - signalledAt;
    // Read at the moment of exit: the request was answered, not cut off by the process going away.
    const { completed, aborted } = call;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(completed).toBe(true);
    expect(aborted).toBe(false);
    expect(elapsedMs).toBeLessThan(GRACE_SECONDS * 1000);
    expect(slow).toHaveLength(1);
    expect(output.join('\n')).toContain('worker stopped');

    // The stage's result reached the server before the process exited; nothing took the next stage.
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(types).toEqual(['inspirationStage']);
    expect((history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
    expect((history.events ?? []).some((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes)).toBe(false);
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test over');
  } catch (err) {
    console.error(`worker output:\n${output.join('\n')}`);
    throw err;
  }
}, 60_000);
