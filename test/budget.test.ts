/**
 * Budgets against a real Temporal dev server, with the real openai SDK talking to a local fake provider that
 * bills every call 11 input + 7 output tokens and counts the calls it receives.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import type { Config } from '../lib/config';
import { createMetrics } from '../lib/metrics';
import { startFakeLlm, pipelineResponder, FakeLlm } from './helpers/fake-llm';
import { apiClient } from './helpers/http';
import { createTestEnv, eventually, startTestWorker, testConfig } from './helpers/temporal-env';

const KEY = 'budget-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let llm: FakeLlm;
let worker: Worker;
let workerDone: Promise<void>;
const call = apiClient(() => web.url, KEY);
const tokens = (u: { inputTokens: number; outputTokens: number }) => u.inputTokens + u.outputTokens;
/** A whole run at the fake provider: inspiration, goals, task plan, one task, validation, delivery. */
const CALLS_PER_RUN = 6;

async function waitFor(id: string, check: (run: any) => boolean, timeoutMs = 20000) {
  return eventually(async () => {
    const r = await call('GET', `/api/runs/${id}`);
    return r.status === 200 && check(r.json) ? r.json : undefined;
  }, timeoutMs);
}

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder());
  config = testConfig({ MC_API_KEYS: KEY, MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
  web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics() }, { port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await web?.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await llm?.close();
  await env?.teardown();
});

describe('budgets', () => {
  test('When the budget is smaller than one run, then the run stops at a budget gate before the overspending call, and a raise takes it to Done', async () => {
    const callsBefore = llm.calls.length;
    const cap = 200;
    const id = (await call('POST', '/api/runs', { task: `Budgeted ${randomUUID()}`, budget: { maxTokens: cap } })).json.id;
    const atGate = await waitFor(id, (r) => r.status === 'Review');
    expect(atGate.gate.gate).toBe('budget');
    const made = llm.calls.length - callsBefore;
    // Stopped part-way, before the call that would overspend: every call the provider saw is billed, under the cap.
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(CALLS_PER_RUN);
    expect(atGate.usage.calls).toBe(made);
    expect(tokens(atGate.usage)).toBeLessThanOrEqual(cap);
    expect(atGate.gate.budget.caps).toEqual({ maxTokens: cap });
    expect(tokens(atGate.usage) + atGate.gate.budget.needed.tokens).toBeGreaterThan(cap);
    expect(atGate.events.some((e: any) => e.type === 'budget.exceeded')).toBe(true);
    // Nothing else is called while the run waits.
    await new Promise((r) => setTimeout(r, 500));
    expect(llm.calls.length - callsBefore).toBe(made);

    // Approving the budget gate needs a raise.
    const noRaise = await call('POST', `/api/runs/${id}/approvals`, { gate: 'budget', decision: 'approve' });
    expect(noRaise.status).toBe(400);
    expect(noRaise.json.error).toMatch(/raiseBy/);
    const raised = await call('POST', `/api/runs/${id}/approvals`, { gate: 'budget', decision: 'approve', raiseBy: { tokens: 1000 }, by: 'finance' });
    expect(raised.status).toBe(200);
    const done = await waitFor(id, (r) => r.status === 'Done');
    expect(done.budget).toEqual({ maxTokens: cap + 1000 });
    expect(done.approvals).toEqual([expect.objectContaining({ gate: 'budget', decision: 'approve', raiseBy: { tokens: 1000 }, by: 'finance' })]);
    // No call was made twice (a stage stopped mid-way resumes), and spend never passed the approved cap.
    expect(llm.calls.length - callsBefore).toBe(CALLS_PER_RUN);
    expect(done.usage.calls).toBe(CALLS_PER_RUN);
    expect(tokens(done.usage)).toBe(CALLS_PER_RUN * 18);
    expect(tokens(done.usage)).toBeLessThanOrEqual(cap + 1000);
  });

  test('When the budget stops a run in the middle of a stage, then the stage resumes after the raise without repeating calls', async () => {
    // The plan asks for a task with long instructions, so the task's own request is bigger than the plan's: a cap
    // found by probing lets inspiration, goals and the plan through and refuses the task, inside the Tasks stage.
    const longInstructions = 'Collect notes on every source, with a citation for each claim. '.repeat(12);
    llm.setResponder(
      pipelineResponder((_c, stage) =>
        stage === 'tasks.plan'
          ? { content: JSON.stringify({ tasks: [{ id: 't1', title: 'Collect notes', kind: 'text', goalId: 'g1', instructions: longInstructions, expectedOutput: 'Notes' }] }) }
          : undefined,
      ),
    );
    const callsBefore = llm.calls.length;
    const taskWords = `Budget mid-stage ${randomUUID()}`;
    const probe = Array.from({ length: 30 }, (_, i) => 240 + i * 10);
    let id = '';
    let atGate: any;
    for (const cap of probe) {
      id = (await call('POST', '/api/runs', { task: taskWords, budget: { maxTokens: cap } })).json.id;
      atGate = await waitFor(id, (r) => r.status === 'Review' || r.status === 'Done');
      if (atGate.status === 'Review' && atGate.gate.budget.stage === 'tasks' && atGate.stages[2].calls.length === 1) break;
      await call('POST', `/api/runs/${id}/cancel`);
      atGate = undefined;
    }
    expect(atGate).toBeDefined();
    const before = llm.calls.length;
    await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve', raiseBy: { tokens: 5000 } });
    const done = await waitFor(id, (r) => r.status === 'Done');
    // Plan was not asked again: the resumed Tasks stage made just the one task call.
    expect(llm.calls.slice(before).filter((c) => /Plan concrete executable tasks/.test(String(c.body.messages[0].content)))).toHaveLength(0);
    expect(done.stages[2].calls).toHaveLength(2);
    expect(done.usage.calls).toBe(CALLS_PER_RUN);
    expect(llm.calls.length).toBeGreaterThan(callsBefore);
    llm.setResponder(pipelineResponder());
  });

  test('When the budget gate is rejected, then the run ends Failed and makes no further calls', async () => {
    const callsBefore = llm.calls.length;
    const id = (await call('POST', '/api/runs', { task: `Budget reject ${randomUUID()}`, budget: { maxTokens: 150 } })).json.id;
    await waitFor(id, (r) => r.gate?.gate === 'budget');
    const made = llm.calls.length - callsBefore;
    const r = await call('POST', `/api/runs/${id}/approvals`, { decision: 'reject', feedback: 'Not worth more tokens' });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('Failed');
    expect(r.json.error).toMatchObject({ type: 'Rejected', message: 'Not worth more tokens' });
    expect(llm.calls.length - callsBefore).toBe(made);
    expect(tokens(r.json.usage)).toBeLessThanOrEqual(150);
  });

  test('When a budget is invalid, then 400', async () => {
    expect((await call('POST', '/api/runs', { task: 'x', budget: { maxTokens: 0 } })).status).toBe(400);
    expect((await call('POST', '/api/runs', { task: 'x', budget: { maxCostUsd: -1 } })).status).toBe(400);
  });
});
