/**
 * Robot Host: the clarifying conversation before the pipeline, over the REST API, on the offline model
 * (deterministic: one question for a short task, then satisfied), against a real Temporal dev server.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { robotRunWorkflow } from '../workflows';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'host-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);

const waitFor = runWaiter(call);

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('Robot Host', () => {
  test('When a manual run asks for the host, then it asks, hears the answer, states the task, and starts the pipeline only on confirm', async () => {
    const created = await call('POST', '/api/runs', { task: 'Write a poem', host: true });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const asking = await waitFor(id, (r) => r.host?.status === 'asking');
    expect(asking.status).toBe('Pending');
    expect(asking.host.transcript).toEqual([expect.objectContaining({ role: 'host', text: expect.stringMatching(/what exactly should the result be/) })]);
    expect(asking.stages.every((s: any) => s.status === 'pending')).toBe(true);
    const listed = await eventually(async () => (await call('GET', '/api/runs?status=Pending')).json.runs.find((x: any) => x.id === id));
    expect(listed.status).toBe('Pending');

    // Confirming before the host has stated a task is stale.
    expect((await call('POST', `/api/runs/${id}/confirm`, {})).status).toBe(409);

    const answered = await call('POST', `/api/runs/${id}/messages`, { text: 'A haiku about on-call engineers, for the team wiki' });
    expect(answered.status).toBe(200);
    expect(answered.json.status).toBe('Pending');
    expect(answered.json.host.status).toBe('confirming');
    expect(answered.json.host.confirmedTask).toBe('Write a poem (clarified: A haiku about on-call engineers, for the team wiki)');
    expect(answered.json.host.transcript.map((m: any) => m.role)).toEqual(['host', 'person', 'host']);
    expect(answered.json.stages[0].status).toBe('pending');

    const confirmed = await call('POST', `/api/runs/${id}/confirm`, { by: 'erin' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.host.status).toBe('confirmed');
    expect(confirmed.json.status).toBe('Running');
    const done = await waitFor(id, (r) => r.status === 'Done');
    // Inspiration worked on the confirmed task, not the vague one.
    expect(done.stages[0].output.brief).toContain('haiku about on-call engineers');
    expect(done.events.map((e: any) => e.type)).toEqual(
      expect.arrayContaining(['host.started', 'host.question', 'host.answer', 'host.stated', 'host.confirm', 'host.confirmed', 'run.running']),
    );
    expect(done.usage.calls).toBeGreaterThanOrEqual(7); // two host turns + the pipeline
    // The conversation is over: more messages are stale.
    expect((await call('POST', `/api/runs/${id}/messages`, { text: 'one more thing' })).status).toBe(409);
  });

  test('When the task is already clear, then the host states it at once and waits for the confirm', async () => {
    const task = 'Compare three managed Postgres offerings on price, backups and regions for a small team';
    const id = (await call('POST', '/api/runs', { task, host: true })).json.id;
    const confirming = await waitFor(id, (r) => r.host?.status === 'confirming');
    expect(confirming.status).toBe('Pending');
    expect(confirming.host.confirmedTask).toBe(task);
    expect((await call('POST', `/api/runs/${id}/confirm`, {})).status).toBe(200);
    await waitFor(id, (r) => r.status === 'Done');
  });

  test('When an API caller does not ask for the host, or a schedule starts the run, then the pipeline starts at once', async () => {
    const viaApi = (await call('POST', '/api/runs', { task: 'Write a poem' })).json.id;
    const apiRun = await waitFor(viaApi, (r) => r.status === 'Done');
    expect(apiRun.host).toBeUndefined();

    // A schedule has nobody to talk to: the host is skipped even if the robot enables it.
    const scheduled = await env.client.workflow.execute(robotRunWorkflow, {
      taskQueue: config.MC_TASK_QUEUE,
      workflowId: `run-${randomUUID()}`,
      args: [{ task: 'Write a poem', robot: { id: 'r', name: 'Poet', role: 'Poet', version: 1 }, trigger: 'schedule', host: { enabled: true } }],
    });
    expect(scheduled.status).toBe('Done');
    expect(scheduled.host).toBeUndefined();
  });

  test('When a run is cancelled during the host conversation, then it ends Cancelled without starting the pipeline', async () => {
    const id = (await call('POST', '/api/runs', { task: 'Plan a party', host: true })).json.id;
    await waitFor(id, (r) => r.host?.status === 'asking');
    expect((await call('POST', `/api/runs/${id}/cancel`)).status).toBe(202);
    const run = await waitFor(id, (r) => r.status === 'Cancelled', 5000);
    expect(run.stages.every((s: any) => s.status === 'skipped')).toBe(true);
    expect(run.events.at(-1).message).toMatch(/during the host conversation/);
  });

  test('When a message is empty or sent to a run without a host, then 400 / 409', async () => {
    const id = (await call('POST', '/api/runs', { task: 'No host here' })).json.id;
    expect((await call('POST', `/api/runs/${id}/messages`, { text: '  ' })).status).toBe(400);
    const r = await call('POST', `/api/runs/${id}/messages`, { text: 'hello?' });
    expect([409]).toContain(r.status);
    expect((await call('POST', '/api/runs/run-unknown/messages', { text: 'hi' })).status).toBe(404);
  });
});
