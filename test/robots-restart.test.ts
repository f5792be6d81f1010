/**
 * Definitions survive restarts of every process: the API, the worker and the Temporal dev server itself (started
 * here with a persistent SQLite file, killed and started again on the same file and port).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import type { Config } from '../lib/config';
import { createMetrics } from '../lib/metrics';
import { apiClient } from './helpers/http';
import { eventually, testConfig } from '../testkit/temporal';
import { freePort, PersistentDevServer, startWorkerAt } from '../testkit/dev-server';

const KEY = 'restart-test-key';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-restart-'));
const dbFile = path.join(dir, 't.db');
let devServer: PersistentDevServer;
let client: Client;
let web: WebServer | undefined;
let worker: { stop(): Promise<void> } | undefined;
let config: Config;
const call = apiClient(() => web!.url, KEY);

async function startServer(): Promise<void> {
  client = await devServer.start();
}

async function stopServer(): Promise<void> {
  await devServer.stop();
}

async function startApi(): Promise<void> {
  web = await startWebServer({ client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
}

async function startWorker(): Promise<void> {
  worker = await startWorkerAt(devServer.address, config);
}

async function stopAll(): Promise<void> {
  await web?.stop();
  web = undefined;
  await worker?.stop();
  worker = undefined;
  await stopServer();
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* installed already */
  }
  const port = await freePort();
  devServer = new PersistentDevServer(dbFile, port);
  config = testConfig({ MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'restart-master-key', TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
});

afterAll(async () => {
  await stopAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('restarts', () => {
  test('When the api, the worker and the Temporal dev server restart on a persistent DB, then robots, versions and runs are all still there', async () => {
    await startServer();
    await startWorker();
    await startApi();

    const keeper = {
      id: 'keeper',
      name: 'Keeper',
      role: 'Keeps the books.',
      workMode: 'autonomous',
      duty: 'Reconcile the ledger.',
      concurrencyLimit: 3,
      budget: { maxCostUsd: 1 },
      schedule: { cron: ['0 6 * * *'], timezone: 'America/New_York' },
      webhook: { enabled: true },
    };
    const created = await call('POST', '/api/robots', keeper);
    expect(created.status).toBe(201);
    const secret = created.json.webhookSecret;
    await call('POST', '/api/robots', { id: 'pager', name: 'Pager', role: 'Pages people.' });
    const run = await call('POST', '/api/robots/keeper/trigger', {});
    await eventually(async () => (await call('GET', `/api/runs/${run.json.id}`)).json.status === 'Done');
    const patched = await call('PATCH', '/api/robots/keeper', { role: 'Keeps the books balanced.' });
    expect(patched.json.version).toBe(2);
    const before = (await call('GET', '/api/robots/keeper')).json;

    // Everything goes down, the dev server included.
    await stopAll();

    // Server and API come back; no worker yet: robots are listed and read from Temporal alone.
    await startServer();
    await startApi();
    const listed = await eventually(async () => {
      const r = await call('GET', '/api/robots');
      return r.json?.robots?.length === 2 ? r.json.robots : undefined;
    }, 30_000);
    expect(listed.map((r: any) => r.id).sort()).toEqual(['keeper', 'pager']);
    const after = (await call('GET', '/api/robots/keeper')).json;
    expect(after).toMatchObject({ ...keeper, role: 'Keeps the books balanced.', version: 2 });
    expect(after.createdAt).toBe(before.createdAt);
    expect(after.state.paused).toBe(false);
    expect(after.state.nextRunTimes.length).toBeGreaterThan(0);
    const oldRun = (await call('GET', `/api/runs/${run.json.id}`)).json;
    expect(oldRun).toMatchObject({ status: 'Done', robot: { id: 'keeper', version: 1 } });

    // The worker comes back: a new run uses version 2, and the webhook secret from before still verifies.
    await startWorker();
    const next = await call('POST', '/api/runs', { task: 'Close the month', robotId: 'keeper' });
    const nextRun = await eventually(async () => {
      const r = await call('GET', `/api/runs/${next.json.id}`);
      return r.json?.status === 'Done' ? r.json : undefined;
    }, 30_000);
    expect(nextRun.robot).toEqual({ id: 'keeper', name: 'Keeper', role: 'Keeps the books balanced.', version: 2, tools: [] });

    const { createHmac } = await import('node:crypto');
    const body = JSON.stringify({ event: 'month-end' });
    const ts = Math.floor(Date.now() / 1000);
    const hook = await fetch(`${web!.url}/hooks/keeper`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-mc-timestamp': String(ts),
        'x-mc-signature': `v2=${createHmac('sha256', secret).update(`v2.${ts}.after-restart.${body}`).digest('hex')}`,
        'x-mc-delivery': 'after-restart',
      },
      body,
    });
    expect(hook.status).toBe(202);
  });
});
