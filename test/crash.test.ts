/**
 * Acceptance: a real worker process is killed (SIGKILL) in the middle of a run and another one is started.
 * The run completes, and no model call that had completed before the kill is made again: the calls are counted
 * at the (fake) provider, per stage and per task.
 *
 * Timeline: worker A runs inspiration, goals, the graph plan and node t1 (and its check); node t2's request hangs
 * at the provider, and A is SIGKILLed. Worker B starts; the server notices the dead attempt of t2's activity through
 * the 10 s heartbeat timeout and retries it on B: only t2 is asked again, then the stages after Tasks run once.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { robotRunWorkflow } from '../workflows';
import type { RunState } from '../contracts/run';
import { FakeLlm, pipelineResponder, RecordedCall, ScriptedReply, startFakeLlm } from './helpers/fake-llm';
import { createTestEnv, eventually } from '../testkit/temporal';
import { spawnWorkerProcess, within, withWorkerLogs, WorkerProcess } from '../testkit/worker-process';

const robot = { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 };

/** The graph the fake planner answers: t2 needs t1, so t1 completes (and is validated) before t2 is in flight. */
const PLAN = {
  nodes: [
    { id: 't1', title: 'Collect notes', kind: 'text', dependsOn: [], instructions: 'Collect', expectedOutput: 'Notes' },
    { id: 't2', title: 'Write the summary', kind: 'synthesize', dependsOn: ['t1'], instructions: 'Combine', expectedOutput: 'Summary' },
  ],
};

let env: TestWorkflowEnvironment;
let llm: FakeLlm;
const workers: WorkerProcess[] = [];
const output: string[] = [];
let releaseHeld = () => {};

function spawnWorker(name: string, vars: Record<string, string>): WorkerProcess {
  const w = spawnWorkerProcess(name, vars, output);
  workers.push(w);
  return w;
}

beforeAll(async () => {
  [env, llm] = await Promise.all([createTestEnv(), startFakeLlm(pipelineResponder())]);
});

afterAll(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }
  await Promise.all(workers.map((w) => w.exited));
  releaseHeld();
  await llm?.close();
  await env?.teardown();
});

test('When the worker is SIGKILLed mid-run and another starts, then the run completes and no completed model call is made twice', async () => {
  await withWorkerLogs(output, async () => {
    // Every request the provider receives, labelled with what it was for.
    const seen: { label: string; call: RecordedCall }[] = [];
    const callsFor = (label: string) => seen.filter((s) => s.label === label).map((s) => s.call);
    const answer = pipelineResponder((call, stage) => {
      let label = stage;
      if (stage === 'tasks.run') {
        const node = PLAN.nodes.find((t) => call.prompt.includes(`This task: ${t.title}`));
        label = `tasks.run:${node?.id ?? 'unknown'}`;
      }
      if (stage === 'tasks.validate') {
        const node = PLAN.nodes.find((t) => call.prompt.includes(`Task ${t.id}: ${t.title}`));
        label = `tasks.validate:${node?.id ?? 'unknown'}`;
      }
      seen.push({ label, call });
      return stage === 'tasks.plan' ? { content: JSON.stringify(PLAN) } : undefined;
    });
    // The first request for t2 is held open: the worker is killed while waiting for it.
    const held = new Promise<ScriptedReply>((resolve) => {
      releaseHeld = () => resolve({ content: 'too late' });
    });
    llm.setResponder((call, index) => {
      const reply = answer(call, index);
      return callsFor('tasks.run:t2')[0] === call ? held : reply;
    });

    const workerEnv = {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      MC_TASK_QUEUE: `crash-${randomUUID()}`,
      MC_MODEL_PROVIDER: 'openai-compatible',
      OPENAI_BASE_URL: llm.openaiBaseUrl,
      MC_SHUTDOWN_GRACE_SECONDS: '1',
    };
    const a = spawnWorker('worker-A', workerEnv);

    const workflowId = `run-crash-${randomUUID()}`;
    const handle = await env.client.workflow.start(robotRunWorkflow, {
      taskQueue: workerEnv.MC_TASK_QUEUE,
      workflowId,
      args: [{ task: 'Research the topic and summarise it', robot, trigger: 'api', options: { retryInitialIntervalMs: 200 } }],
    });

    // Worker A is waiting for t2: the graph was planned and t1 ran and was validated (each its own activity,
    // completed in the history), since t2 only starts once t1 is done.
    await eventually(async () => callsFor('tasks.run:t2').length === 1, 40_000, 100);

    a.child.kill('SIGKILL');
    expect(await within(5_000, a.exited, 'worker A exit after SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const inFlight = callsFor('tasks.run:t2')[0];
    await eventually(async () => inFlight.aborted, 5_000, 25);
    expect(inFlight.completed).toBe(false);
    releaseHeld();

    spawnWorker('worker-B', workerEnv);
    // A bound, not a speed target: worker B starts, A's task times out (10 s heartbeat), the rest of the pipeline runs.
    const state: RunState = await within(90_000, handle.result(), 'run result after the restart');

    expect(state.status).toBe('Done');
    expect(state.stages.map((s) => [s.name, s.status])).toEqual([
      ['inspiration', 'done'],
      ['goals', 'done'],
      ['tasks', 'done'],
      ['validation', 'done'],
      ['delivery', 'done'],
    ]);
    expect((state.stages[2].output as { tasks: { id: string }[] }).tasks.map((t) => t.id).sort()).toEqual(['t1', 't2']);

    // At the provider: every call that completed before the kill was made exactly once; the one in flight twice
    // (the killed request, aborted, then the retry); the stages after the crash once.
    const counts = Object.fromEntries(
      ['inspiration', 'goals', 'tasks.plan', 'tasks.run:t1', 'tasks.validate:t1', 'tasks.run:t2', 'tasks.validate:t2', 'validation', 'delivery'].map(
        (l) => [l, callsFor(l).length],
      ),
    );
    expect(counts).toEqual({
      inspiration: 1,
      goals: 1,
      'tasks.plan': 1,
      'tasks.run:t1': 1,
      'tasks.validate:t1': 1,
      'tasks.run:t2': 2,
      'tasks.validate:t2': 1,
      validation: 1,
      delivery: 1,
    });
    expect(seen.map((s) => s.label)).not.toContain('unknown');
    expect(seen.filter((s) => s.call.aborted).map((s) => s.call)).toEqual([inFlight]);
    expect(seen.filter((s) => s.call !== inFlight).every((s) => s.call.completed)).toBe(true);
    // The run bills what was paid for: the tasks stage reports the plan and both nodes with their checks, not the
    // aborted call.
    expect(state.stages[2].calls).toHaveLength(5);
    expect(state.usage.calls).toBe(9);

    // The event history, as the real CLI shows it: the stage activities and one activity per node; the node that
    // was in flight when its worker died ran again (attempt 2) after its heartbeat timed out.
    const { stdout } = await promisify(execFile)(
      process.env.TEMPORAL_CLI_PATH!,
      ['workflow', 'show', '--address', env.address, '--namespace', 'default', '--workflow-id', workflowId, '--output', 'json'],
      { maxBuffer: 32 * 1024 * 1024 },
    );
    const events: any[] = JSON.parse(stdout).events;
    const scheduled = events
      .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
      .map((e) => e.activityTaskScheduledEventAttributes.activityType.name);
    expect(scheduled).toEqual([
      'inspirationStage',
      'goalsStage',
      'planDag',
      'runDagNode',
      'validateDagNode',
      'runDagNode',
      'validateDagNode',
      'validationStage',
      'deliveryStage',
    ]);
    const started = events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED');
    const tasksScheduledId = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runDagNode',
    )[1].eventId;
    const tasksStarted = started.find((e) => e.activityTaskStartedEventAttributes.scheduledEventId === tasksScheduledId);
    expect(tasksStarted.activityTaskStartedEventAttributes.attempt).toBe(2);
    expect(JSON.stringify(tasksStarted.activityTaskStartedEventAttributes.lastFailure)).toMatch(/heartbeat/i);
  });
}, 180_000);
