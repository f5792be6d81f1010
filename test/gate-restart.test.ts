/**
 * Durable gates: runs wait at a gate while the worker AND the Temporal dev server are stopped and started again
 * (persistent SQLite file, same port). Afterwards one run still accepts a decision and the other still times out
 * on its original deadline. This file runs its own dev server through the CLI, not TestWorkflowEnvironment.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { robotRunWorkflow } from '../workflows';
import { decideUpdate, runStateQuery } from '../contracts/messages';
import type { RunInput, RunState } from '../contracts/run';
import { eventually, testConfig } from '../testkit/temporal';
import { freePort, PersistentDevServer, startWorkerAt } from '../testkit/dev-server';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-restart-'));
const dbFile = path.join(dir, 't.db');
const config = testConfig();
let server: PersistentDevServer;
let client: Client | undefined;
let worker: { stop(): Promise<void> } | undefined;

async function startServer(): Promise<void> {
  client = await server.start();
}

async function stopServer(): Promise<void> {
  await server.stop();
  client = undefined;
}

async function startWorker(): Promise<void> {
  worker = await startWorkerAt(server.address, config);
}

async function stopWorker(): Promise<void> {
  await worker?.stop();
  worker = undefined;
}

const input = (task: string, timeoutSeconds?: number): RunInput => ({
  task,
  robot: { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 },
  trigger: 'api',
  approvals: { gates: [{ at: 'delivery', ...(timeoutSeconds ? { timeoutSeconds, onTimeout: 'approve' as const } : {}) }] },
});

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* already installed in this process */
  }
  server = new PersistentDevServer(dbFile, await freePort(), config.TEMPORAL_NAMESPACE);
  await startServer();
  await startWorker();
});

afterAll(async () => {
  await stopWorker();
  await stopServer();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('When the worker and the dev server restart while runs wait at gates, then a decision still moves one on and the other still times out on its original deadline', async () => {
  const TIMEOUT_S = 20;
  const decided = `run-${randomUUID()}`;
  const timed = `run-${randomUUID()}`;
  const c = client as Client;
  await c.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: decided, args: [input('Decide me after a restart')] });
  await c.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: timed, args: [input('Time out across a restart', TIMEOUT_S)] });
  const inReview = async (id: string) =>
    eventually(async () => {
      const s = await (client as Client).workflow.getHandle(id).query(runStateQuery);
      return s.status === 'Review' ? s : undefined;
    });
  const before = await inReview(decided);
  const timedBefore = await inReview(timed);
  expect(timedBefore.gate?.deadline).toBeDefined();

  // Everything goes down: worker first, then the server (its SQLite file stays).
  await stopWorker();
  await stopServer();
  await startServer();
  await startWorker();
  const restartedAt = Date.now();
  // The restart happened while the gate was pending (the deadline is still ahead).
  expect(restartedAt).toBeLessThan(Date.parse(timedBefore.gate?.deadline as string));

  const after = await inReview(decided);
  expect(after.gate).toEqual(before.gate);
  const state = await (client as Client).workflow.getHandle(decided).executeUpdate(decideUpdate, {
    args: [{ gate: 'delivery', decision: 'approve', by: 'after-restart', channel: 'api' }],
  });
  expect(state.approvals).toEqual([expect.objectContaining({ by: 'after-restart', decision: 'approve' })]);
  const done = (await (client as Client).workflow.getHandle(decided).result()) as RunState;
  expect(done.status).toBe('Done');

  const timedDone = (await (client as Client).workflow.getHandle(timed).result()) as RunState;
  expect(timedDone.status).toBe('Done');
  expect(timedDone.approvals).toEqual([expect.objectContaining({ decision: 'approve', channel: 'timeout', by: 'system' })]);
  const fired = timedDone.events.find((e) => e.type === 'gate.timeout') as { at: string };
  const waited = Date.parse(fired.at) - Date.parse(timedBefore.gate?.since as string);
  // It fired on its deadline (not reset by the restart), give or take the time the server was down.
  expect(waited).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
  expect(waited).toBeLessThan(TIMEOUT_S * 1000 + Math.max(0, restartedAt - Date.parse(timedBefore.gate?.deadline as string)) + 15000);
}, 180000);
