/**
 * Budgets against a real Temporal dev server, with the real openai SDK talking to a local fake provider that
 * bills every call 11 input + 7 output tokens and counts the calls it receives.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { startFakeLlm, pipelineResponder, FakeLlm } from './helpers/fake-llm';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const KEY = 'budget-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let llm: FakeLlm;
let api: TestApi;
const call = apiClient(() => web.url, KEY);
const tokens = (u: { inputTokens: number; outputTokens: number }) => u.inputTokens + u.outputTokens;
/**
 * A whole run at the fake provider: inspiration, goals, the task graph's plan (one node), the node's run and its
 * validation, validation, delivery.
 */
const CALLS_PER_RUN = 7;
/** The Tasks stage of such a run: plan, node run, node validation. */
const TASKS_CALLS = 3;
const isPlanCall = (c: { body: any }) => /Plan the goals as a DAG/.test(String(c.body.messages[0].content));
const isNodeRun = (c: { body: any }) => /Do this task/.test(String(c.body.messages[0].content));

const waitFor = runWaiter(call);

/**
 * Start budgeted runs until one waits at a budget gate where `stop` holds. Each probe's cap is the previous one's
 * spend plus what its refused request needed, so the gate moves a request further each time; the probes that do
 * not stop where wanted are cancelled. Returns the run at its gate, its cap, its task and where its calls start in
 * `llm.calls`.
 */
async function probe(stop: (run: any) => boolean) {
  let cap = 100;
  for (let i = 0; i < 40; i++) {
    const task = `Budget probe ${randomUUID()}`;
    const runStart = llm.calls.length;
    const id = (await call('POST', '/api/runs', { task, budget: { maxTokens: cap } })).json.id;
    const atGate = await waitFor(id, (r) => r.status === 'Review' || r.status === 'Done');
    if (atGate.status === 'Review' && stop(atGate)) return { id, cap, task, runStart, atGate };
    await call('POST', `/api/runs/${id}/cancel`);
    if (atGate.status !== 'Review') break;
    cap = Math.max(cap + 1, tokens(atGate.usage) + atGate.gate.budget.needed.tokens);
  }
  throw new Error('no probe stopped where wanted');
}

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder());
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
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
    // One source of truth: the run's usage is the sum of its stages' calls, the Tasks stage's those of its graph.
    expect(done.stages.reduce((n: number, s: any) => n + s.calls.length, 0)).toBe(done.usage.calls);
    expect(done.stages[2].calls).toHaveLength(TASKS_CALLS);
    expect(done.dag.nodes.reduce((n: number, x: any) => n + x.usage.calls, 0)).toBe(TASKS_CALLS - 1);
  });

  test('When the budget stops a run in the middle of a stage, then the stage resumes after the raise without repeating calls', async () => {
    // The planner answers with a node that has long instructions, so the node's own request is bigger than the
    // plan's: a cap found by probing lets inspiration, goals and the plan through and refuses the node's request,
    // inside the task graph.
    const longInstructions = 'Collect notes on every source, with a citation for each claim. '.repeat(12);
    llm.setResponder(
      pipelineResponder((_c, stage) =>
        stage === 'tasks.plan'
          ? { content: JSON.stringify({ nodes: [{ id: 't1', title: 'Collect notes', kind: 'text', dependsOn: [], instructions: longInstructions, expectedOutput: 'Notes' }] }) }
          : undefined,
      ),
    );
    const callsBefore = llm.calls.length;
    const { id, atGate, runStart } = await probe((r) => r.gate.budget.stage === 'tasks' && r.stages[2].calls.length === 1);
    // Stopped inside the graph: planned, the node's request refused before it was sent, nothing spent past the cap.
    expect(atGate.dag.nodes).toEqual([expect.objectContaining({ id: 't1', status: 'running' })]);
    expect(atGate.events.some((e: any) => e.type === 'node.budget')).toBe(true);
    expect(tokens(atGate.usage)).toBeLessThanOrEqual(atGate.budget.maxTokens);
    expect(atGate.usage.calls).toBe(3);
    const before = llm.calls.length;
    expect(llm.calls.slice(runStart)).toHaveLength(3);
    expect(llm.calls.slice(runStart).filter(isNodeRun)).toHaveLength(0);
    await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve', raiseBy: { tokens: 5000 } });
    const done = await waitFor(id, (r) => r.status === 'Done');
    // The plan was not asked again: the resumed graph ran the refused node once (then its validation).
    expect(llm.calls.slice(before).filter(isPlanCall)).toHaveLength(0);
    expect(llm.calls.slice(before).filter(isNodeRun)).toHaveLength(1);
    expect(done.stages[2].calls).toHaveLength(TASKS_CALLS);
    expect(done.dag.nodes).toEqual([expect.objectContaining({ id: 't1', status: 'done', runs: 1 })]);
    expect(done.events.some((e: any) => e.type === 'node.failed')).toBe(false);
    expect(done.usage.calls).toBe(CALLS_PER_RUN);
    expect(llm.calls.length).toBeGreaterThan(callsBefore);
    llm.setResponder(pipelineResponder());
  });

  test('When the budget runs out inside a task graph with parallel nodes, then nothing new starts at the gate, a raise runs every node once, and a rejection there ends the run', async () => {
    // Three parallel branches and a synthesis: 3 + 4 × 2 + 2 calls in all.
    const branches = ['a', 'b', 'c'].map((id) => ({
      id,
      title: `Branch ${id}`,
      kind: 'text',
      dependsOn: [],
      instructions: `Research branch ${id} of the topic in depth. `.repeat(6),
      expectedOutput: 'Notes',
    }));
    const graph = {
      nodes: [...branches, { id: 's', title: 'Synthesis', kind: 'synthesize', dependsOn: ['a', 'b', 'c'], instructions: 'Combine the branches.', expectedOutput: 'Report' }],
    };
    const totalCalls = 3 + graph.nodes.length * 2 + 2;
    llm.setResponder(pipelineResponder((_c, stage) => (stage === 'tasks.plan' ? { content: JSON.stringify(graph) } : undefined)));
    // Stopped inside the graph, with some nodes done and some not.
    const doneNodes = (r: any) => (r.dag?.nodes ?? []).filter((n: any) => n.status === 'done').length;
    const { id, cap, task, runStart, atGate } = await probe((r) => r.gate.budget.stage === 'tasks' && doneNodes(r) >= 1 && doneNodes(r) < graph.nodes.length);
    // Every call the provider saw is billed, none past the cap, and no node failed for lack of budget.
    expect(llm.calls.length - runStart).toBe(atGate.usage.calls);
    expect(tokens(atGate.usage)).toBeLessThanOrEqual(cap);
    expect(atGate.gate.budget.caps).toEqual({ maxTokens: cap });
    expect(atGate.dag.nodes.filter((n: any) => ['failed', 'skipped', 'cancelled'].includes(n.status))).toEqual([]);
    expect(atGate.stages.reduce((n: number, s: any) => n + s.calls.length, 0)).toBe(atGate.usage.calls);
    // While the run waits at the gate nothing is called and no node starts or finishes.
    await new Promise((r) => setTimeout(r, 500));
    const still = (await call('GET', `/api/runs/${id}`)).json;
    expect(llm.calls.length - runStart).toBe(atGate.usage.calls);
    expect(still.dag.nodes.map((n: any) => n.status)).toEqual(atGate.dag.nodes.map((n: any) => n.status));

    await call('POST', `/api/runs/${id}/approvals`, { gate: 'budget', decision: 'approve', raiseBy: { tokens: 5000 } });
    const done = await waitFor(id, (r) => r.status === 'Done');
    expect(done.dag.nodes.map((n: any) => [n.id, n.status, n.runs])).toEqual(graph.nodes.map((n) => [n.id, 'done', 1]));
    expect(done.events.some((e: any) => e.type === 'node.failed')).toBe(false);
    // No call twice: each node asked the provider once, and the run's calls are exactly one run's.
    const mine = llm.calls.slice(runStart).filter((c) => c.prompt.includes(task));
    for (const n of graph.nodes) expect(mine.filter((c) => isNodeRun(c) && c.prompt.includes(`This task: ${n.title}\n`))).toHaveLength(1);
    expect(llm.calls.length - runStart).toBe(totalCalls);
    expect(done.usage.calls).toBe(totalCalls);
    expect(done.stages.reduce((n: number, s: any) => n + s.calls.length, 0)).toBe(totalCalls);
    expect(tokens(done.usage)).toBeLessThanOrEqual(cap + 5000);

    // Rejected at a budget gate inside the graph: the run ends Failed, no node is left running, nothing more is called.
    const stopped = await probe((r) => r.gate.budget.stage === 'tasks' && (r.dag?.nodes ?? []).length > 0);
    const rejected = await call('POST', `/api/runs/${stopped.id}/approvals`, { gate: 'budget', decision: 'reject', feedback: 'Enough' });
    expect(rejected.status).toBe(200);
    expect(rejected.json.status).toBe('Failed');
    expect(rejected.json.error).toMatchObject({ stage: 'tasks', type: 'Rejected', message: 'Enough' });
    expect(rejected.json.stages[2].status).toBe('failed');
    expect(rejected.json.dag.nodes.filter((n: any) => ['pending', 'running', 'waiting'].includes(n.status))).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(llm.calls.length - stopped.runStart).toBe(stopped.atGate.usage.calls);
    expect(tokens(rejected.json.usage)).toBeLessThanOrEqual(stopped.cap);
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
