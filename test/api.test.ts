/**
 * The REST API over HTTP on port 0, against a real Temporal dev server and a real worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import type { Config } from '../lib/config';
import { createMetrics, Metrics } from '../lib/metrics';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

const KEY = 'test-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let metrics: Metrics;
let worker: Worker;
let workerDone: Promise<void>;

async function call(method: string, url: string, body?: unknown, auth: string | null = KEY, raw?: string) {
  const res = await fetch(`${web.url}${url}`, {
    method,
    headers: {
      ...(auth !== null ? { authorization: `Bearer ${auth}` } : {}),
      ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function waitForStatus(id: string, status: string, timeoutMs = 20000) {
  return eventually(async () => {
    const r = await call('GET', `/api/runs/${id}`);
    return r.json?.status === status ? r.json : undefined;
  }, timeoutMs, 50);
}

beforeAll(async () => {
  env = await createTestEnv();
  // A little simulated latency so that a run can be caught while it is Running.
  config = testConfig({ MC_API_KEYS: `${KEY},second-key`, MC_OFFLINE_DELAY_MS: '400' });
  metrics = createMetrics();
  worker = await startTestWorker(env, config, { metrics });
  workerDone = worker.run();
  web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics }, { port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await web?.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

describe('auth', () => {
  test('When /healthz is called without credentials, then it answers 200', async () => {
    const r = await call('GET', '/healthz', undefined, null);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true });
  });

  test.each([
    ['GET', '/api/runs'],
    ['POST', '/api/runs'],
    ['GET', '/metrics'],
    ['GET', '/api/runs/run-x'],
    ['POST', '/api/runs/run-x/cancel'],
    ['GET', '/no-such-route'],
  ])('When %s %s has no or a wrong key, then it answers 401', async (method, url) => {
    const none = await call(method, url, undefined, null);
    expect(none.status).toBe(401);
    expect(none.json.error).toMatch(/missing credentials/);
    const wrong = await call(method, url, undefined, 'not-the-key');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('invalid credentials');
  });

  test('When the second configured key is used, then it is accepted', async () => {
    expect((await call('GET', '/api/runs', undefined, 'second-key')).status).toBe(200);
  });

  test('When no keys and no password are configured, then a key is generated once, kept 0600 and reused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-auth-'));
    const c = testConfig({ MC_DATA_DIR: dir });
    const first = resolveCredentials(c);
    expect(first.generatedKey).toMatch(/^mc_[A-Za-z0-9_-]{32}$/);
    expect(fs.statSync(path.join(dir, 'api-key')).mode & 0o777).toBe(0o600);
    const second = resolveCredentials(c);
    expect(second.generatedKey).toBeUndefined();
    expect(second.apiKeys).toEqual([first.generatedKey]);
  });
});

describe('bad input', () => {
  test.each([
    [{}, /task: Required/],
    [{ task: '   ' }, /task: must not be empty/],
    [{ task: 42 }, /task: Expected string/],
    [{ task: 'x', colour: 'red' }, /Unrecognized key\(s\) in object: 'colour'/],
    [{ task: 'x', robot: { role: 'r' } }, /robot\.name: Required/],
    [{ task: 'x', options: { stageMaxAttempts: 0 } }, /options\.stageMaxAttempts/],
  ])('When POST /api/runs gets %j, then 400 names the field', async (body, message) => {
    const r = await call('POST', '/api/runs', body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(message);
    expect(Array.isArray(r.json.details)).toBe(true);
  });

  test('When the body is not JSON, then 400 says so', async () => {
    const r = await call('POST', '/api/runs', undefined, KEY, '{"task": ');
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('body is not valid JSON');
  });

  test('When the body is over the size limit, then 413', async () => {
    const r = await call('POST', '/api/runs', { task: 'x'.repeat(300 * 1024) });
    expect(r.status).toBe(413);
  });

  test('When listing with an unknown status, then 400 names the field', async () => {
    const r = await call('GET', '/api/runs?status=Sleeping');
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^status: /);
  });

  test.each([
    ['GET', '/api/runs/run-does-not-exist'],
    ['POST', '/api/runs/run-does-not-exist/cancel'],
    ['GET', '/api/nothing-here'],
  ])('When %s %s names nothing, then 404', async (method, url) => {
    const r = await call(method, url);
    expect(r.status).toBe(404);
    expect(typeof r.json.error).toBe('string');
  });

  test('When an id has characters outside the id alphabet, then 400', async () => {
    const r = await call('GET', `/api/runs/${encodeURIComponent("run' OR 1=1")}`);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/^id: /);
  });
});

describe('runs', () => {
  test('When a run is started, then it gets a whole id, reaches Done, and shows its stages, tokens and link', async () => {
    const created = await call('POST', '/api/runs', { task: 'Write a haiku about durable execution', robot: { name: 'Poet', role: 'Writes short poems' } });
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(/^run-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created.json.status).toBe('Pending');
    const run = await waitForStatus(created.json.id, 'Done');
    // The live query while it runs; once the workflow has completed, its result (read from history).
    expect(['query', 'result']).toContain(run.stateSource);
    expect(run.robot).toMatchObject({ name: 'Poet', role: 'Writes short poems' });
    expect(run.stages).toHaveLength(5);
    expect(run.stages.every((s: any) => s.status === 'done' && s.usage.inputTokens > 0 && s.durationMs >= 0)).toBe(true);
    expect(run.offline).toBe(true);
    expect(run.usage.calls).toBeGreaterThanOrEqual(5);
    expect(run.links.temporalUi).toContain(`/workflows/${created.json.id}`);
    expect(run.temporal.workflowId).toBe(created.json.id);

    const done = await eventually(async () => {
      const r = await call('GET', '/api/runs?status=Done');
      return r.json.runs.some((x: any) => x.id === created.json.id) ? r.json.runs : undefined;
    });
    expect(done.every((x: any) => x.status === 'Done')).toBe(true);
    const running = await call('GET', '/api/runs?status=Running');
    expect(running.json.runs.some((x: any) => x.id === created.json.id)).toBe(false);
    const byRobot = await call('GET', '/api/runs?robotId=adhoc');
    expect(byRobot.json.runs.some((x: any) => x.id === created.json.id)).toBe(true);
  });

  test('When a running run is cancelled, then it ends Cancelled and a second cancel is a 409', async () => {
    const created = await call('POST', '/api/runs', { task: 'Something to cancel' });
    // Visibility (a cheap list) rather than the run's state: on a busy machine a state query can take longer than a stage.
    await eventually(async () => (await call('GET', '/api/runs?status=Running')).json.runs.some((x: any) => x.id === created.json.id), 20000, 50);
    const cancelled = await call('POST', `/api/runs/${created.json.id}/cancel`);
    expect(cancelled.status).toBe(202);
    const run = await waitForStatus(created.json.id, 'Cancelled', 5000);
    expect(run.interruptedStage).toBeDefined();
    const listed = await eventually(async () => {
      const r = await call('GET', '/api/runs?status=Cancelled');
      return r.json.runs.find((x: any) => x.id === created.json.id);
    });
    expect(listed.status).toBe('Cancelled');
    const again = await call('POST', `/api/runs/${created.json.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already finished/);
  });

  test('When a running run moves on from stage to stage, then the list shows the stage it is at, though visibility is written at status changes only', async () => {
    const created = await call('POST', '/api/runs', { task: 'Walk through the stages one by one' });
    const id = created.json.id;
    const STAGE_ORDER = ['inspiration', 'goals', 'tasks', 'validation', 'delivery'];
    // Past its first stage, by the run's own state (the query); each model call takes 400 ms here.
    const live = await eventually(async () => {
      const r = await call('GET', `/api/runs/${id}`);
      return r.json?.status === 'Running' && ['goals', 'tasks'].includes(r.json.currentStage) ? r.json : undefined;
    }, 20000, 50);
    const listed = (await call('GET', '/api/runs?status=Running')).json.runs.find((x: any) => x.id === id);
    const d = await env.client.workflow.getHandle(id).describe();
    // What visibility holds: written when the run started running, before any stage.
    expect((d.memo?.run as any)?.status).toBe('Running');
    expect((d.memo?.run as any)?.currentStage).toBeUndefined();
    expect((d.memo?.run as any)?.usage.calls).toBe(0);
    // What the list answers: the stage and usage this API follows live.
    expect(STAGE_ORDER.indexOf(listed.currentStage)).toBeGreaterThanOrEqual(STAGE_ORDER.indexOf(live.currentStage));
    expect(listed.usage.calls).toBeGreaterThanOrEqual(live.usage.calls);
    expect(listed.usage.calls).toBeGreaterThan(0);
    await waitForStatus(id, 'Done');
  });

  test('When metrics are scraped, then runs by status, stage durations, tokens and process metrics are there', async () => {
    const r = await call('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/mc_runs_started_total\{trigger="api"\} [1-9]/);
    expect(r.text).toMatch(/mc_runs\{status="Done"\} [1-9]/);
    expect(r.text).toMatch(/mc_stage_duration_seconds_count\{stage="inspiration",outcome="done"\} [1-9]/);
    expect(r.text).toMatch(/mc_model_tokens_total\{provider="offline",model="offline-deterministic-1",direction="input"\} [1-9]/);
    expect(r.text).toMatch(/process_cpu_user_seconds_total/);
  });

  test('When no worker is running, then a finished run is still shown from Temporal and runs are still listed', async () => {
    const created = await call('POST', '/api/runs', { task: 'Finish before the worker stops' });
    await waitForStatus(created.json.id, 'Done');
    worker.shutdown();
    await workerDone;
    const started = Date.now();
    const r = await call('GET', `/api/runs/${created.json.id}`);
    expect(r.status).toBe(200);
    expect(r.json.stateSource).toBe('result');
    expect(r.json.status).toBe('Done');
    expect(r.json.stages).toHaveLength(5);
    expect(Date.now() - started).toBeLessThan(6000);

    const pending = await call('POST', '/api/runs', { task: 'Nobody is there to run me' });
    const shown = await call('GET', `/api/runs/${pending.json.id}`);
    expect(shown.json).toMatchObject({ stateSource: 'memo', status: 'Pending', task: 'Nobody is there to run me' });
    const listed = await call('GET', '/api/runs?status=Pending');
    expect(listed.json.runs.some((x: any) => x.id === pending.json.id)).toBe(true);
  });
});
