/**
 * Page sessions end when their owner signs out — on every API replica, at once, with the revocation kept in Temporal
 * (no worker needed to check it) — and when the keys are rotated; cross-site state changes with the cookie are 403.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { revokedSessionsQuery, revokeSessionSignal, SESSION_REVOCATIONS_WORKFLOW_ID } from '../contracts/messages';
import type { Config } from '../lib/config';
import { createMetrics } from '../lib/metrics';
import { sessionRevocationsWorkflow } from '../workflows';
import { openSse } from './helpers/sse';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

const PASSWORD = 'sessions test password';
let env: TestWorkflowEnvironment;
let config: Config;
const servers: WebServer[] = [];

/** An API replica: its own process memory, the same configuration and Temporal. No worker runs on its task queue. */
async function replica(vars: Record<string, string> = {}): Promise<WebServer> {
  const c = { ...config, ...testConfig({ MC_TASK_QUEUE: config.MC_TASK_QUEUE, MC_ADMIN_PASSWORD: PASSWORD, MC_SSE_PING_SECONDS: '1', ...vars }) };
  const web = await startWebServer({ client: env.client, config: c, credentials: resolveCredentials(c), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
  servers.push(web);
  return web;
}

async function signIn(web: WebServer, password = PASSWORD): Promise<string> {
  const res = await fetch(`${web.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0];
}

const get = async (web: WebServer, cookie: string, path = '/api/info') => (await fetch(`${web.url}${path}`, { headers: { cookie } })).status;

async function signOut(web: WebServer, cookie: string) {
  // What the page's Sign out button sends: a same-origin form POST.
  return fetch(`${web.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' } });
}

beforeAll(async () => {
  env = await createTestEnv();
  config = testConfig({ MC_ADMIN_PASSWORD: PASSWORD });
});

afterAll(async () => {
  for (const w of servers) await w.stop();
  await env?.teardown();
});

test('When a user signs out on one replica, then the old cookie gets 401 on a second replica at once, and on a replica started later; other sessions go on', async () => {
  const [a, b] = [await replica(), await replica()];
  const cookie = await signIn(a);
  const other = await signIn(b);
  expect([await get(a, cookie), await get(b, cookie), await get(b, other)]).toEqual([200, 200, 200]);

  const out = await signOut(a, cookie);
  expect(out.status).toBe(303);
  expect(out.headers.get('location')).toBe('/login');
  expect(out.headers.get('set-cookie')).toMatch(/^mc_session=; .*Max-Age=0/);
  // The very next request, on the other replica (which holds nothing of the sign-out in memory).
  expect(await get(b, cookie)).toBe(401);
  expect(await get(a, cookie)).toBe(401);
  // A page request with the old cookie is sent to the login page again.
  const page = await fetch(`${b.url}/`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
  expect([page.status, page.headers.get('location')]).toEqual([302, '/login?next=%2F']);
  const c = await replica();
  expect(await get(c, cookie)).toBe(401);
  // Only that session ended.
  expect([await get(a, other), await get(b, other), await get(c, other)]).toEqual([200, 200, 200]);
  // The revocation lives in Temporal: the entity workflow's history holds the signal.
  const history = await env.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID).fetchHistory();
  expect(history.events!.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'revokeSession')).toHaveLength(1);
});

test('When a session is signed out, then an event stream it opened on another replica ends', async () => {
  const [a, b] = [await replica(), await replica()];
  const cookie = await signIn(a);
  const stream = await openSse(`${b.url}/api/events`, { cookie });
  expect(stream.status).toBe(200);
  const before = await Promise.race([stream.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 1500))]);
  expect(before).toBe('open'); // pings come and go; the stream stays while the session is valid
  expect((await signOut(a, cookie)).status).toBe(303);
  // Ended by the server within a ping (MC_SSE_PING_SECONDS = 1 here).
  const after = await Promise.race([stream.ended.then(() => 'ended'), new Promise((r) => setTimeout(() => r('open'), 5000))]);
  expect(after).toBe('ended');
});

test('When the keys are rotated (a replica starts with a new password), then cookies signed with the old one get 401 there', async () => {
  const a = await replica();
  const cookie = await signIn(a);
  const rotated = await replica({ MC_ADMIN_PASSWORD: 'a new password' });
  expect(await get(rotated, cookie)).toBe(401);
  expect(await get(rotated, await signIn(rotated, 'a new password'))).toBe(200);
});

test('When the revocations workflow continues-as-new, then every revocation is carried over, read by a fresh replica, with a worker running it', async () => {
  // A worker on this queue runs the entity workflow; a short history limit makes it continue-as-new often.
  const worker: Worker = await startTestWorker(env, config);
  const running = worker.run();
  try {
    const handle = env.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID);
    await handle.terminate('test: start over with a short history limit').catch(() => undefined);
    const started = await env.client.workflow.start(sessionRevocationsWorkflow, { workflowId: SESSION_REVOCATIONS_WORKFLOW_ID, taskQueue: config.MC_TASK_QUEUE, args: [{ revoked: [], maxHistoryEvents: 12 }] });
    const firstRun = started.firstExecutionRunId;
    const a = await replica();
    const cookies: string[] = [];
    for (let i = 0; i < 8; i++) {
      const cookie = await signIn(a);
      cookies.push(cookie);
      expect((await signOut(a, cookie)).status).toBe(303);
    }
    // It continued-as-new (during the sign-outs or just after).
    await eventually(async () => (await env.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID).describe()).runId !== firstRun || undefined, 30_000);
    // A direct signal (as an operator could send) is honoured like a sign-out.
    await env.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID).signal(revokeSessionSignal, { sid: randomUUID().slice(0, 22), until: Date.now() + 60_000 });
    const fresh = await replica();
    for (const cookie of cookies) expect(await get(fresh, cookie)).toBe(401);
    expect(await get(fresh, await signIn(fresh))).toBe(200);
    const held = await env.client.workflow.getHandle(SESSION_REVOCATIONS_WORKFLOW_ID).query(revokedSessionsQuery);
    expect(held.length).toBeGreaterThanOrEqual(9);
  } finally {
    worker.shutdown();
    await running;
  }
});
