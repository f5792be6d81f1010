/**
 * A decision sent while no worker runs: the API answers 503 with a clear message after a bounded wait
 * (MC_UPDATE_ACCEPT_TIMEOUT_SECONDS) instead of hanging, and the same decision sent again once a worker is back
 * applies once.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, startTestWorker } from '../testkit/temporal';
import { within } from '../testkit/worker-process';

const KEY = 'no-worker-key';
let env: TestWorkflowEnvironment;
let api: TestApi;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_UPDATE_ACCEPT_TIMEOUT_SECONDS: '2' });
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

test('When a decision is sent while no worker runs, then 503 says so after the bounded wait; sent again with a worker back, it applies once', async () => {
  const started = await call('POST', '/api/runs', { task: 'Wait for a person', approvals: { gates: [{ at: 'delivery' }] } });
  expect(started.status).toBe(201);
  await waitFor(started.json.id, (r) => r.status === 'Review' && r.gate?.gate === 'delivery');
  await api.stopWorker();

  const decision = { gate: 'delivery', decision: 'approve', by: 'dana', decisionId: 'approve-once' };
  const refused = await within(30_000, call('POST', `/api/runs/${started.json.id}/approvals`, decision), 'the decision without a worker');
  expect(refused.status).toBe(503);
  expect(refused.json.error).toMatch(/^no worker took the request within 2 s \(is a worker running on task queue test-[0-9a-f-]+\?\); it was not confirmed/);
  // Reading still works without a worker (from the memo).
  expect((await call('GET', `/api/runs/${started.json.id}`)).json).toMatchObject({ status: 'Review', stateSource: 'memo' });

  const worker = await startTestWorker(env, api.config);
  const running = worker.run();
  try {
    const accepted = await call('POST', `/api/runs/${started.json.id}/approvals`, decision);
    // The first send may have been taken by the new worker already (then this one is a duplicate: 409 or 200).
    expect([200, 409]).toContain(accepted.status);
    const done = await waitFor(started.json.id, (r) => r.status === 'Done', 30_000);
    expect(done.approvals.filter((a: any) => a.decisionId === 'approve-once')).toHaveLength(1);
  } finally {
    worker.shutdown();
    await running;
  }
});
