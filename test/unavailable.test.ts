/**
 * The API fails fast when Temporal is down: every call to Temporal has a deadline (MC_TEMPORAL_TIMEOUT_MS, retries
 * included), an unreachable Temporal is a 503 with a clear message within seconds, `/readyz` says "not ready" while
 * `/healthz` stays 200, and everything comes back when Temporal does. The API here is the real entry point's
 * (`startApi`: its own connection from configuration), against a dev server this file stops and starts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { RunningApi, startApi } from '../api/main';
import { Config, loadConfig } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { decideUpdate, runStateQuery } from '../contracts/messages';
import { robotRunWorkflow } from '../workflows';
import type { RunState } from '../contracts/run';
import { createMetrics } from '../lib/metrics';
import { apiClient, runWaiter } from './helpers/http';
import { freePort, PersistentDevServer, startWorkerAt } from '../testkit/dev-server';
import { eventually, testConfig } from '../testkit/temporal';

const KEY = 'unavailable-test-key';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-unavailable-'));
let server: PersistentDevServer;
let api: RunningApi;
let worker: { stop(): Promise<void> } | undefined;
let config: Config;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - t };
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* already installed in this process */
  }
  server = new PersistentDevServer(path.join(dir, 't.db'), await freePort());
  await server.start();
  const base = testConfig();
  config = loadConfig({
    TEMPORAL_ADDRESS: server.address,
    MC_TASK_QUEUE: base.MC_TASK_QUEUE,
    MC_MODEL_PROVIDER: 'offline',
    MC_API_KEYS: KEY,
    MC_WEBHOOK_KEY: 'k',
    MC_DATA_DIR: dir,
    PORT: '0',
  });
  worker = await startWorkerAt(server.address, config);
  api = await startApi(config, createMetrics({ defaultMetrics: false }));
});

afterAll(async () => {
  await api?.stop();
  await worker?.stop();
  await server?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('When a call waits on purpose longer than MC_TEMPORAL_TIMEOUT_MS (a long poll for a result, an update), then the deadline does not cut it off', async () => {
  // Ordinary calls (start, query) must fit in the deadline even on a busy machine; the waits below outlast it.
  const timeoutMs = 2000;
  const client = await connectClient({ ...config, MC_TEMPORAL_TIMEOUT_MS: timeoutMs });
  try {
    const handle = await client.workflow.start(robotRunWorkflow, {
      taskQueue: config.MC_TASK_QUEUE,
      workflowId: `run-longpoll-${Date.now()}`,
      args: [{ task: 'Wait at the gate', robot: { id: 'adhoc', name: 'A', role: 'B', version: 0 }, trigger: 'api', approvals: { gates: [{ at: 'delivery' }] } }],
    });
    const result = handle.result();
    // At the gate (a query that misses the deadline is simply asked again), then wait well past the deadline: the
    // result's long poll has been open all along.
    await eventually(async () => (await handle.query(runStateQuery)).status === 'Review', 30_000, 100);
    await new Promise((r) => setTimeout(r, timeoutMs * 1.5));
    const decided = await handle.executeUpdate(decideUpdate, { args: [{ gate: 'delivery', decision: 'approve', by: 'test', channel: 'api' }] });
    expect(decided.approvals).toHaveLength(1);
    expect(((await result) as RunState).status).toBe('Done');
  } finally {
    await client.connection.close();
  }
});

test('When Temporal stops, then GET /api/runs/:id answers 503 within 5 s, /readyz is 503 and /healthz 200; when it is back, so is the API', async () => {
  const started = await call('POST', '/api/runs', { task: 'A run to look at while Temporal is down' });
  expect(started.status).toBe(201);
  const id = started.json.id as string;
  await waitFor(id, (r) => r.status === 'Done', 30_000);
  expect((await fetch(`${api.web.url}/readyz`)).status).toBe(200);

  await worker?.stop();
  worker = undefined;
  await server.stop();

  const get = await timed(() => call('GET', `/api/runs/${id}`));
  expect(get.value.status).toBe(503);
  expect(get.ms).toBeLessThan(5000);
  expect(get.value.json.error).toMatch(/^Temporal (is unreachable|did not answer in time); try again shortly$/);
  expect(get.value.headers.get('retry-after')).toBe('5');

  const list = await timed(() => call('GET', '/api/runs?status=Done'));
  expect(list.value.status).toBe(503);
  expect(list.ms).toBeLessThan(5000);
  const start = await timed(() => call('POST', '/api/runs', { task: 'Not now' }));
  expect(start.value.status).toBe(503);
  expect(start.ms).toBeLessThan(5000);
  // The OpenAI-compatible endpoint says the same in OpenAI's shape, which its clients retry.
  const models = await timed(() => fetch(`${api.web.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } }));
  expect(models.value.status).toBe(503);
  expect(models.ms).toBeLessThan(5000);
  expect(((await models.value.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');

  // Probes carry no credentials: readiness answers without them, and says nothing but ready / not ready.
  const ready = await timed(() => fetch(`${api.web.url}/readyz`));
  expect(ready.value.status).toBe(503);
  expect(await ready.value.json()).toEqual({ ready: false });
  expect(ready.ms).toBeLessThan(5000);
  const health = await fetch(`${api.web.url}/healthz`);
  expect(health.status).toBe(200);

  await server.start();
  await eventually(async () => (await fetch(`${api.web.url}/readyz`)).status === 200, 30_000, 250);
  const back = await eventually(async () => {
    const r = await call('GET', `/api/runs/${id}`);
    return r.status === 200 ? r.json : undefined;
  }, 30_000, 250);
  expect(back.status).toBe('Done');
});

test('When /readyz is asked without credentials, then it answers while every other route but /healthz refuses', async () => {
  const ready = await fetch(`${api.web.url}/readyz`);
  expect([200, 503]).toContain(ready.status);
  expect(Object.keys((await ready.json()) as object)).toEqual(['ready']);
  expect((await fetch(`${api.web.url}/api/runs`)).status).toBe(401);
});
