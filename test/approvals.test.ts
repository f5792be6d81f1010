/**
 * Approval gates over the REST API and the real `temporal` CLI, against a real Temporal dev server, a real worker
 * and the real openai SDK talking to a local fake provider (so prompts can be inspected).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { startFakeLlm, pipelineResponder, FakeLlm } from './helpers/fake-llm';
import { apiClient, runWaiter, Receiver, startReceiver } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'approvals-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let llm: FakeLlm;
let receiver: Receiver;
let api: TestApi;
const call = apiClient(() => web.url, KEY);

const waitFor = runWaiter(call);
const waitForStatus = (id: string, status: string, timeoutMs?: number) => waitFor(id, (r) => r.status === status, timeoutMs);

async function startRun(body: Record<string, unknown>): Promise<string> {
  const r = await call('POST', '/api/runs', body);
  expect(r.status).toBe(201);
  return r.json.id;
}

/** Prompts the fake provider saw for one run's stage (runs are told apart by a unique task). */
const promptsOf = (task: string, stagePattern: RegExp) =>
  llm.calls.filter((c) => c.prompt.includes(task) && stagePattern.test(String(c.body.messages?.[0]?.content ?? ''))).map((c) => c.prompt);

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder());
  receiver = await startReceiver();
  // The escalation receiver below listens on loopback, which the outbound guard refuses unless allow-listed.
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl, MC_FETCH_ALLOWLIST: '127.0.0.1/32' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await receiver?.close();
  await llm?.close();
  await env?.teardown();
});

const deliveryGate = { gates: [{ at: 'delivery' }] };

describe('gate before Delivery', () => {
  test('When a run reaches a gate before Delivery, then it is in Review with the work so far, and approve takes it to Done', async () => {
    const id = await startRun({ task: `Gate approve ${randomUUID()}`, approvals: deliveryGate });
    const run = await waitForStatus(id, 'Review');
    expect(run.gate).toMatchObject({ gate: 'delivery', key: 'delivery#1', revisable: 'validation', revisions: 0 });
    expect(Date.parse(run.gate.since)).toBeGreaterThan(0);
    expect(Object.keys(run.gate.subject)).toEqual(['inspiration', 'goals', 'tasks', 'validation']);
    expect(run.gate.subject.validation.summary).toBe('1/1 passed');
    expect(run.stages.find((s: any) => s.name === 'delivery').status).toBe('pending');
    // The board shows it: visibility lists it under Review.
    await eventually(async () => (await call('GET', '/api/runs?status=Review')).json.runs.some((x: any) => x.id === id));

    const decided = await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'approve', by: 'alice' });
    expect(decided.status).toBe(200);
    expect(decided.json.gate).toBeUndefined();
    expect(decided.json.status).not.toBe('Review');
    expect(decided.json.approvals).toEqual([
      expect.objectContaining({ gate: 'delivery', decision: 'approve', by: 'alice', channel: 'api', at: expect.any(String) }),
    ]);
    const done = await waitForStatus(id, 'Done');
    expect(done.result.destinations).toEqual([{ type: 'run', status: 'delivered' }]);
    expect(done.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(['gate.waiting', 'run.review', 'approval.approve', 'run.done']));
  });

  test('When the reviewer rejects, then the run ends Failed with the reason recorded', async () => {
    const id = await startRun({ task: `Gate reject ${randomUUID()}`, approvals: deliveryGate });
    await waitForStatus(id, 'Review');
    const r = await call('POST', `/api/runs/${id}/approvals`, { decision: 'reject', feedback: 'Sources are missing', by: 'bob' });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('Failed');
    expect(r.json.error).toMatchObject({ type: 'Rejected', message: 'Sources are missing' });
    const run = await waitForStatus(id, 'Failed');
    expect(run.approvals[0]).toMatchObject({ decision: 'reject', by: 'bob', feedback: 'Sources are missing' });
    expect(run.stages.find((s: any) => s.name === 'delivery').status).toBe('skipped');
    expect(run.temporal.status).toBe('FAILED');
  });

  test('When the reviewer asks for a revision, then the stage before the gate runs again with the feedback in its prompt and the gate is asked again', async () => {
    const task = `Gate revise ${randomUUID()}`;
    const id = await startRun({ task, approvals: { ...deliveryGate, maxRevisions: 1 } });
    await waitForStatus(id, 'Review');
    // The validation prompt does not repeat the task; tests in a file run one at a time, so count from here.
    const validationPrompts = () => promptsOf('', /Check each result/);
    const before = validationPrompts().length;

    const feedback = `Check the numbers against the source ${randomUUID()}`;
    const r = await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'revise', feedback, by: 'carol' });
    expect(r.status).toBe(200);
    const again = await waitFor(id, (run) => run.gate?.key === 'delivery#2');
    expect(again.status).toBe('Review');
    expect(again.gate.revisions).toBe(1);
    const prompts = validationPrompts();
    expect(prompts).toHaveLength(before + 1);
    expect(prompts.slice(0, before).some((p) => p.includes(feedback))).toBe(false);
    expect(prompts[before]).toContain(feedback);
    expect(prompts[before]).toContain('Reviewer feedback on the previous version');
    expect(again.stages.find((s: any) => s.name === 'validation').revisions).toBe(1);

    // The revision budget (1) is used up: another revise is refused, approve goes on.
    const tooMany = await call('POST', `/api/runs/${id}/approvals`, { decision: 'revise', feedback: 'once more' });
    expect(tooMany.status).toBe(409);
    expect(tooMany.json.error).toMatch(/revision/);
    expect((await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve' })).status).toBe(200);
    const done = await waitForStatus(id, 'Done');
    expect(done.approvals.map((a: any) => a.decision)).toEqual(['revise', 'approve']);
  });

  test('When a run has a final gate, then Delivery is formatted but takes effect only after approval', async () => {
    const id = await startRun({ task: `Final gate ${randomUUID()}`, approvals: { gates: [{ at: 'final' }] } });
    const run = await waitForStatus(id, 'Review');
    expect(run.gate).toMatchObject({ gate: 'final', revisable: 'delivery' });
    expect(run.gate.subject.delivery).toMatchObject({ content: '# Report\nAll done.', destinations: [{ type: 'run', status: 'pending' }] });
    expect(run.stages.find((s: any) => s.name === 'delivery').status).toBe('running');
    await call('POST', `/api/runs/${id}/approvals`, { gate: 'final', decision: 'approve' });
    const done = await waitForStatus(id, 'Done');
    expect(done.stages.find((s: any) => s.name === 'delivery').status).toBe('done');
    expect(done.result.destinations).toEqual([{ type: 'run', status: 'delivered' }]);
  });
});

describe('stale, duplicate and malformed decisions', () => {
  test('When a decision names the wrong gate or comes after the gate was decided, then 409 and the run does not change', async () => {
    const id = await startRun({ task: `Stale ${randomUUID()}`, approvals: deliveryGate });
    const before = await waitForStatus(id, 'Review');
    const wrong = await call('POST', `/api/runs/${id}/approvals`, { gate: 'goals', decision: 'approve' });
    expect(wrong.status).toBe(409);
    expect(wrong.json.error).toMatch(/waits at the delivery gate, not at goals/);
    const unchanged = (await call('GET', `/api/runs/${id}`)).json;
    expect(unchanged.gate).toEqual(before.gate);
    expect(unchanged.approvals).toEqual([]);
    expect(unchanged.events.length).toBe(before.events.length);

    expect((await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'approve', decisionId: 'click-1' })).status).toBe(200);
    // The same decision retried with its id: harmless, applied once.
    const dup = await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'approve', decisionId: 'click-1' });
    expect([200, 409]).toContain(dup.status);
    const done = await waitForStatus(id, 'Done');
    expect(done.approvals).toHaveLength(1);
    // After the gate was decided (and the run finished): 409, nothing changes.
    const late = await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'reject', feedback: 'too late' });
    expect(late.status).toBe(409);
    expect((await call('GET', `/api/runs/${id}`)).json).toMatchObject({ status: 'Done', approvals: [expect.objectContaining({ decision: 'approve' })] });
  });

  test('When the same decision id is sent twice while the run waits at a later gate, then the second is a harmless 200', async () => {
    const id = await startRun({ task: `Duplicate ${randomUUID()}`, approvals: { gates: [{ at: 'tasks' }, { at: 'delivery' }] } });
    await waitFor(id, (r) => r.gate?.gate === 'tasks');
    const first = await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve', decisionId: 'review-42' });
    expect(first.status).toBe(200);
    const atDelivery = await waitFor(id, (r) => r.gate?.gate === 'delivery');
    const second = await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve', decisionId: 'review-42' });
    expect(second.status).toBe(200);
    expect(second.json.gate).toEqual(atDelivery.gate);
    expect(second.json.approvals).toHaveLength(1);
    // A decision after the tasks gate was decided, without an id, is stale.
    const stale = await call('POST', `/api/runs/${id}/approvals`, { gate: 'tasks', decision: 'approve' });
    expect(stale.status).toBe(409);
    await call('POST', `/api/runs/${id}/approvals`, { gate: 'delivery', decision: 'approve' });
    await waitForStatus(id, 'Done');
  });

  test.each([
    [{ decision: 'maybe' }, /^decision: /],
    [{ decision: 'revise' }, /feedback: revise needs feedback/],
    [{ decision: 'approve', gate: 'lunch' }, /^gate: /],
    [{ decision: 'approve', colour: 'red' }, /Unrecognized key/],
    [{}, /decision: Required/],
  ])('When the decision body is %j, then 400', async (body, message) => {
    const r = await call('POST', '/api/runs/run-any/approvals', body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(message);
  });

  test('When a revise is sent at a gate before Inspiration (nothing to revise), then the validator answers 400 and nothing changes', async () => {
    const id = await startRun({ task: `Nothing to revise ${randomUUID()}`, approvals: { gates: [{ at: 'inspiration' }] } });
    await waitForStatus(id, 'Review');
    const r = await call('POST', `/api/runs/${id}/approvals`, { decision: 'revise', feedback: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/nothing to revise/);
    expect((await call('GET', `/api/runs/${id}`)).json.approvals).toEqual([]);
    await call('POST', `/api/runs/${id}/cancel`);
  });

  test('When a decision names an unknown run, then 404; a run without a gate, then 409', async () => {
    expect((await call('POST', '/api/runs/run-nope/approvals', { decision: 'approve' })).status).toBe(404);
    const id = await startRun({ task: `No gates ${randomUUID()}` });
    const r = await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve' });
    expect(r.status).toBe(409);
  });
});

describe('signals', () => {
  test('When ops send the decision with `temporal workflow signal`, then the run moves on and the decision is recorded', async () => {
    const id = await startRun({ task: `CLI signal ${randomUUID()}`, approvals: deliveryGate });
    await waitForStatus(id, 'Review');
    const cli = process.env.TEMPORAL_CLI_PATH as string;
    const r = spawnSync(
      cli,
      [
        'workflow', 'signal',
        '--address', env.address,
        '--namespace', config.TEMPORAL_NAMESPACE,
        '--workflow-id', id,
        '--name', 'decision',
        '--input', JSON.stringify({ gate: 'delivery', decision: 'approve', by: 'ops@example.com' }),
      ],
      { encoding: 'utf8', timeout: 30000 },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const done = await waitForStatus(id, 'Done');
    expect(done.approvals).toEqual([expect.objectContaining({ decision: 'approve', by: 'ops@example.com', channel: 'signal' })]);
  });

  test('When a stale signal arrives, then it changes nothing and an event says why', async () => {
    const id = await startRun({ task: `Stale signal ${randomUUID()}`, approvals: deliveryGate });
    await waitForStatus(id, 'Review');
    const handle = env.client.workflow.getHandle(id);
    const { decisionSignal } = await import('../contracts/messages');
    await handle.signal(decisionSignal, { gate: 'goals', decision: 'approve' });
    const run = await waitFor(id, (r) => r.events.some((e: any) => e.type === 'approval.ignored'));
    expect(run.status).toBe('Review');
    expect(run.approvals).toEqual([]);
    // Duplicate signals: the first approves, the second is ignored.
    await handle.signal(decisionSignal, { gate: 'delivery', decision: 'approve', decisionId: 'sig-1' });
    await handle.signal(decisionSignal, { gate: 'delivery', decision: 'approve', decisionId: 'sig-1' });
    const done = await waitForStatus(id, 'Done');
    expect(done.approvals).toHaveLength(1);
  });
});

// Each timeout policy, and decisions before a deadline or after an escalation, are covered in skipped time by
// test/gate-deadlines.test.ts; this one real-time deadline checks the whole path on a dev server: the API's view,
// the durable timer, and the real notify activity's POST to a webhook.
describe('deadlines', () => {
  test('When the policy is escalate, then the "reports to" contact is notified, and with no decision by the second deadline the gate rejects', async () => {
    const id = await startRun({
      task: `Escalate ${randomUUID()}`,
      approvals: {
        gates: [{ at: 'delivery', timeoutSeconds: 1, onTimeout: 'escalate', escalationTimeoutSeconds: 2 }],
        escalateTo: { name: 'Dana (team lead)', webhookUrl: `${receiver.url}/escalations` },
      },
    });
    const notice = await eventually(async () => receiver.received.find((r) => r.body?.runId === id), 30000);
    expect(notice.path).toBe('/escalations');
    expect(notice.body).toMatchObject({ type: 'approval.escalated', gate: 'delivery', to: 'Dana (team lead)', timeoutSeconds: 1 });
    expect(notice.headers['idempotency-key']).toBe(`${id}:delivery#1:escalation`);
    const escalated = (await call('GET', `/api/runs/${id}`)).json;
    if (escalated.status === 'Review') expect(escalated.gate.escalated).toBe(true);
    const run = await waitForStatus(id, 'Failed', 30000);
    expect(run.events.map((e: any) => e.type)).toEqual(expect.arrayContaining(['gate.escalated', 'gate.timeout']));
    expect(run.approvals).toEqual([expect.objectContaining({ decision: 'reject', channel: 'timeout' })]);
  });
});

describe('cancel', () => {
  test('When a run waiting at a gate is cancelled, then it ends Cancelled and a later decision is a 409', async () => {
    const id = await startRun({ task: `Cancel at gate ${randomUUID()}`, approvals: deliveryGate });
    await waitForStatus(id, 'Review');
    expect((await call('POST', `/api/runs/${id}/cancel`)).status).toBe(202);
    const run = await waitForStatus(id, 'Cancelled', 5000);
    expect(run.gate).toBeUndefined();
    expect(run.events.at(-1).message).toMatch(/at the delivery gate/);
    expect((await call('POST', `/api/runs/${id}/approvals`, { decision: 'approve' })).status).toBe(409);
  });
});
