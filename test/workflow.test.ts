/**
 * robotRunWorkflow against a real Temporal dev server: happy path, stage failure, cancellation mid-stage.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createModelRouter } from '../activities/models/router';
import { robotRunWorkflow } from '../workflows';
import { runStateQuery } from '../contracts/messages';
import type { RunInput } from '../contracts/run';
import { startFakeLlm, pipelineResponder, FakeLlm } from './helpers/fake-llm';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

const robot = { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 };
const input = (task: string, extra: Partial<RunInput> = {}): RunInput => ({ task, robot, trigger: 'api', ...extra });

let env: TestWorkflowEnvironment;
let llm: FakeLlm;

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder());
});

afterAll(async () => {
  await llm?.close();
  await env?.teardown();
});

describe('robotRunWorkflow', () => {
  test('When a run uses the offline model, then it goes through the five stages to Done with outputs and usage', async () => {
    const config = testConfig();
    const worker = await startTestWorker(env, config);
    const state = await worker.runUntil(
      env.client.workflow.execute(robotRunWorkflow, {
        taskQueue: config.MC_TASK_QUEUE,
        workflowId: `run-${randomUUID()}`,
        args: [input('Research the top 5 competitors and write a summary')],
      }),
    );
    expect(state.status).toBe('Done');
    expect(state.stages.map((s) => [s.name, s.status])).toEqual([
      ['inspiration', 'done'],
      ['goals', 'done'],
      ['tasks', 'done'],
      ['validation', 'done'],
      ['delivery', 'done'],
    ]);
    expect(state.offline).toBe(true);
    expect(state.usage.calls).toBeGreaterThanOrEqual(5);
    expect(state.usage.inputTokens).toBeGreaterThan(0);
    for (const s of state.stages) {
      expect(s.output).toBeDefined();
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
      expect(s.calls[0].provider).toBe('offline');
    }
    expect((state.result as { content: string }).content).toContain('Research the top 5 competitors');
    expect(state.events.map((e) => e.type)).toEqual(expect.arrayContaining(['run.running', 'stage.started', 'run.done']));
  });

  test('When a robot has a prompt addition for one stage and a custom agent for another, then exactly those prompts carry them', async () => {
    llm.setResponder(pipelineResponder());
    const config = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
    const worker = await startTestWorker(env, config);
    const task = `Stage agents ${randomUUID()}`;
    const from = llm.calls.length;
    const custom = {
      ...robot,
      stageAgents: {
        goals: { promptAddition: 'Write every goal in plain words a newcomer understands.' },
        validation: { agent: { name: 'Strict QA', instructions: 'Reject vague results.' } },
      },
    };
    const state = await worker.runUntil(
      env.client.workflow.execute(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `run-${randomUUID()}`, args: [input(task, { robot: custom })] }),
    );
    expect(state.status).toBe('Done');
    const system = (stagePattern: RegExp) =>
      llm.calls.slice(from).filter((c) => stagePattern.test(String(c.body.messages[0].content))).map((c) => String(c.body.messages[0].content));
    const goals = system(/into 1 to 5 goals/);
    const validation = system(/Check each result/);
    const inspiration = system(/actionable brief/);
    expect(goals.length).toBeGreaterThan(0);
    expect(goals.every((p) => p.includes('Write every goal in plain words'))).toBe(true);
    expect(validation.length).toBeGreaterThan(0);
    expect(validation.every((p) => p.startsWith('You are Strict QA, working for Analyst') && p.includes('Reject vague results.'))).toBe(true);
    expect(inspiration.every((p) => !p.includes('plain words') && !p.includes('Strict QA'))).toBe(true);
  });

  test('When the provider keeps rejecting a stage, then the run ends Failed with the cause and the stage named', async () => {
    llm.setResponder(
      pipelineResponder((_call, stage) =>
        stage === 'goals' ? { status: 400, body: { error: { message: 'model does not exist', type: 'invalid_request_error' } } } : undefined,
      ),
    );
    const config = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
    const worker = await startTestWorker(env, config);
    const handle = await env.client.workflow.start(robotRunWorkflow, {
      taskQueue: config.MC_TASK_QUEUE,
      workflowId: `run-${randomUUID()}`,
      args: [input('Fail at goals', { options: { retryInitialIntervalMs: 100 } })],
    });
    await worker.runUntil(async () => {
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const state = await handle.query(runStateQuery);
      expect(state.status).toBe('Failed');
      expect(state.error).toMatchObject({ stage: 'goals', type: 'ProviderRejected' });
      expect(state.error?.message).toContain('model does not exist');
      expect(state.stages.find((s) => s.name === 'goals')?.status).toBe('failed');
      expect(state.stages.find((s) => s.name === 'tasks')?.status).toBe('skipped');
    });
    // 400 is not retryable: exactly one goals request.
    expect(llm.calls.filter((c) => c.prompt.includes('Fail at goals') && /goals/.test(JSON.stringify(c.body.messages[0]))).length).toBe(1);
    const desc = await handle.describe();
    expect(desc.status.name).toBe('FAILED');
  });

  test('When a run is cancelled during a slow stage, then it is Cancelled within 2 s and the model request is aborted', async () => {
    llm.setResponder(pipelineResponder((_call, stage) => (stage === 'goals' ? { delayMs: 30_000, content: '{}' } : undefined)));
    const config = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
    const worker = await startTestWorker(env, config);
    const task = `Cancel me ${randomUUID()}`;
    const handle = await env.client.workflow.start(robotRunWorkflow, {
      taskQueue: config.MC_TASK_QUEUE,
      workflowId: `run-${randomUUID()}`,
      args: [input(task)],
    });
    await worker.runUntil(async () => {
      const slowCall = await eventually(async () =>
        llm.calls.find((c) => c.prompt.includes(task) && /goals/.test(JSON.stringify(c.body.messages[0]))),
      );
      const cancelledAt = Date.now();
      await handle.cancel();
      const state = await eventually(async () => {
        const s = await handle.query(runStateQuery);
        return s.status === 'Cancelled' ? s : undefined;
      }, 5000, 50);
      expect(Date.now() - cancelledAt).toBeLessThan(2000);
      expect(state.interruptedStage).toBe('goals');
      expect(state.stages.find((s) => s.name === 'goals')?.status).toBe('cancelled');
      await eventually(async () => slowCall.aborted, 2000, 25);
      expect(slowCall.completed).toBe(false);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
    });
  });
});
