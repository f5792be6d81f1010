/**
 * The fleet overview from Temporal's own worker list, with real worker processes: a second worker started by the
 * test appears on the page within 30 s with its CPU and RAM; SIGKILLed in the middle of a run, it disappears within
 * 30 s; another worker takes the run over, and the run's page says from the run's own history that it survived a
 * crash and repeated no completed step.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { createMetrics } from '../lib/metrics';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';
import { spawnWorkerProcess, type WorkerProcess, within, withWorkerLogs } from '../testkit/worker-process';
import { apiClient, runWaiter } from './helpers/http';
import { launch, newRecorder, openContext, pageViolations, until } from './helpers/browser';

const PASSWORD = 'fleet page password';
const KEY = 'fleet-key';

let env: TestWorkflowEnvironment;
let web: WebServer;
let browser: Browser;
let page: Page;
const config = testConfig({ MC_ADMIN_PASSWORD: PASSWORD, MC_API_KEYS: KEY });
const workers: Worker[] = [];
const running: Promise<void>[] = [];
const processes: WorkerProcess[] = [];
const output: string[] = [];
const rec = newRecorder();
const call = apiClient(() => web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  env = await createTestEnv();
  web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
  // A first worker in this process, on a queue of its own: the run below can only go to the workers the test starts.
  const first = await startTestWorker(env, { ...config, MC_TASK_QUEUE: `other-${randomUUID()}` });
  workers.push(first);
  running.push(first.run());
  browser = await launch();
  const context = await openContext(browser, web.url, rec, { width: 1440, height: 900, password: PASSWORD });
  page = await context.newPage();
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await browser?.close();
  await web?.stop();
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await Promise.all(running);
  await env?.teardown();
});

const workerCard = (identity: string) => page.locator(`#overview li.worker[data-worker="${identity}"]`);

test('When a second worker process starts, then the overview shows it within 30 s with CPU and RAM; SIGKILLed mid-run it is gone within 30 s, and the run, taken over by another worker, says on its page that it survived', async () => {
  await withWorkerLogs(output, async () => {
    await page.goto(`${web.url}/#/`);
    await page.waitForSelector('#overview .tiles');
    // The first worker is there (this process).
    await until(() => workerCard(`${process.pid}@${os.hostname()}`).count(), 1, 30_000, 'the first worker');

    const a = spawnWorkerProcess('worker-A', {
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_NAMESPACE: 'default',
      MC_TASK_QUEUE: config.MC_TASK_QUEUE,
      MC_MODEL_PROVIDER: 'offline',
      MC_OFFLINE_DELAY_MS: '1500',
      MC_WORKER_HEARTBEAT_SECONDS: '2',
      MC_SHUTDOWN_GRACE_SECONDS: '1',
    }, output);
    processes.push(a);
    // Counted from the moment the worker polls (bundling the workflows before that is not the fleet's business).
    await eventually(async () => output.some((l) => l.includes('[worker-A') && l.includes('polling task queue')), 90_000, 100);
    const started = Date.now();
    const identity = `${a.child.pid}@${os.hostname()}`;
    await until(() => workerCard(identity).count(), 1, 30_000, 'worker A in the overview');
    expect(Date.now() - started).toBeLessThanOrEqual(30_000);
    expect(await workerCard(identity).locator('[data-field="cpu"] b').textContent()).toMatch(/^\d+%$/);
    expect(await workerCard(identity).locator('[data-field="memory"] b').textContent()).toMatch(/^\d+%$/);
    expect(await workerCard(identity).locator('.queues').textContent()).toContain(config.MC_TASK_QUEUE);
    expect(Number(await page.textContent('#overview [data-metric="desktops"] b'))).toBe(2);
    const fleet = (await call('GET', '/api/fleet')).json;
    const fromApi = fleet.workers.find((w: { identity: string }) => w.identity === identity);
    expect(fromApi).toMatchObject({ kind: 'worker', taskQueues: [config.MC_TASK_QUEUE] });
    expect(fromApi.cpu).toBeGreaterThanOrEqual(0);
    expect(fromApi.memory).toBeGreaterThan(0);

    // A run that only worker A can take; killed while its Goals stage is in flight.
    const { json } = await call('POST', '/api/runs', { task: 'Survive the loss of a worker' });
    await waitFor(json.id, (r) => r.stages?.find((s: { name: string }) => s.name === 'goals')?.status === 'running', 60_000);
    a.child.kill('SIGKILL');
    expect(await within(5_000, a.exited, 'worker A exit')).toEqual({ code: null, signal: 'SIGKILL' });
    const killed = Date.now();
    await until(() => workerCard(identity).count(), 0, 30_000, 'worker A gone from the overview');
    expect(Date.now() - killed).toBeLessThanOrEqual(30_000);

    // Another worker takes the run over.
    const b = await startTestWorker(env, config);
    workers.push(b);
    running.push(b.run());
    const done = await waitFor(json.id, (r) => r.status === 'Done', 60_000);
    expect(done.stages.map((s: { status: string }) => s.status)).toEqual(['done', 'done', 'done', 'done', 'done']);

    const recovery = (await call('GET', `/api/runs/${json.id}/recovery`)).json;
    expect(recovery.survived).toBe(true);
    expect(recovery.losses).toContainEqual(expect.objectContaining({ kind: 'activity', stage: 'goals', activity: 'goalsStage', cause: 'the worker stopped heartbeating' }));
    expect(recovery.repeatedCompletedSteps).toBe(0);

    await page.goto(`${web.url}/#/run/${json.id}`);
    await page.waitForSelector('#run-recovery .notice');
    expect(await page.textContent('#run-recovery .notice')).toMatch(/Survived a crash: worker lost during Goals; resumed, 0 completed steps repeated/);
    expect(await pageViolations(page)).toEqual([]);
  });
});

test('When the session is over, then no request left the machine and the CSP was never violated', () => {
  expect(rec.foreignRequests).toEqual([]);
  expect(rec.cspViolations).toEqual([]);
  expect(rec.consoleErrors).toEqual([]);
});
