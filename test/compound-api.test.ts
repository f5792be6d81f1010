/**
 * Compound goals and per-node control over HTTP (port 0), against a real Temporal dev server and worker:
 * the seed-compatible /task endpoints and /api/runs/:id/nodes/:nodeId/{cancel,retry,approval}.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { createDesktopWorker } from '../workers/desktop';
import { robotRunWorkflow } from '../workflows';
import { node } from '../testkit/dag';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'compound-key-0123456789';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
let site: http.Server;
let siteUrl: string;
let siteStatus = 200;

async function call(method: string, url: string, body?: unknown, auth: string | null = KEY) {
  const res = await fetch(`${web.url}${url}`, {
    method,
    headers: { ...(auth !== null ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

const progress = (id: string) => call('GET', `/task/${id}/progress`).then((r) => r.json);
const nodeOf = (p: any, id: string) => p.nodes.find((n: any) => n.id === id);
const until = (id: string, check: (p: any) => boolean, timeoutMs = 20000) =>
  eventually(async () => {
    const p = await progress(id);
    return check(p) ? p : undefined;
  }, timeoutMs, 50);

beforeAll(async () => {
  env = await createTestEnv();
  site = http.createServer((req, res) => res.writeHead(siteStatus).end(siteStatus === 200 ? `content of ${req.url}` : 'gone'));
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.2', resolve));
  siteUrl = `http://127.0.0.2:${(site.address() as AddressInfo).port}`;
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '100', MC_FETCH_ALLOWLIST: '127.0.0.2/32' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await new Promise((r) => site?.close(r));
  await env?.teardown();
});

describe('POST /task/compound and GET /task/:id/progress', () => {
  test('When a compound goal is posted, then its progress shows every node with its whole id, a rolling summary, and the result', async () => {
    const created = await call('POST', '/task/compound', { goal: 'Research the top 5 competitors and write a summary' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json)).toEqual(['id']);
    const id: string = created.json.id;
    expect(id).toMatch(/^run-[0-9a-f-]{36}$/);

    const midway = await until(id, (p) => p.nodes.some((n: any) => n.status === 'done'));
    expect(midway.summary).toMatch(/node\(s\) done/);

    const done = await until(id, (p) => p.status === 'Done');
    expect(done.nodes.length).toBeGreaterThanOrEqual(2);
    for (const n of done.nodes) {
      expect(n.status).toBe('done');
      expect(n.model).toBe('offline-deterministic-1');
      expect(n.reason).toMatch(/tier/);
    }
    expect(nodeOf(done, 'synthesis').dependsOn.length).toBe(done.nodes.length - 1);
    expect(done.summary).toMatch(new RegExp(`^${done.nodes.length}/${done.nodes.length} node\\(s\\) done`));
    expect(done.result).toContain('Research the top 5 competitors');

    const run = await call('GET', `/api/runs/${id}`);
    expect(run.json.trigger).toBe('compound');
    expect(run.json.dag.nodes).toHaveLength(done.nodes.length);
  });

  test('When the request is bad, unauthenticated or names an unknown robot, then it answers 400, 401 or 404', async () => {
    expect((await call('POST', '/task/compound', { goal: '' })).status).toBe(400);
    expect((await call('POST', '/task/compound', { goal: 'x', extra: 1 })).json.error).toContain('extra');
    expect((await call('POST', '/task/compound', { goal: 'x' }, null)).status).toBe(401);
    expect((await call('GET', '/task/run-whatever/progress', undefined, 'wrong')).status).toBe(401);
    expect((await call('POST', '/task/compound', { goal: 'x', robotId: 'nobody' })).status).toBe(404);
    expect((await call('GET', '/task/run-does-not-exist/progress')).status).toBe(404);
  });
});

describe('per-node control over /api/runs/:id/nodes/:nodeId', () => {
  test('When one running node is cancelled through the API, then its dependant is skipped and its sibling completes the run', async () => {
    const dag = [
      node('slow', [], { simulatedLatencyMs: 60_000 }),
      node('after', ['slow']),
      node('sibling', [], { simulatedLatencyMs: 5000 }),
    ];
    const created = await call('POST', '/api/runs', { task: 'Cancel one node over HTTP', dag });
    expect(created.status).toBe(201);
    const id = created.json.id;
    await until(id, (p) => nodeOf(p, 'slow')?.status === 'running');
    const cancelled = await call('POST', `/api/runs/${id}/nodes/slow/cancel`);
    expect(cancelled).toEqual({ status: 200, json: { nodeId: 'slow', status: 'cancelled' } });
    const again = await call('POST', `/api/runs/${id}/nodes/slow/cancel`);
    expect(again.status).toBe(409);
    expect(again.json.error).toBe('node "slow" is cancelled and cannot be cancelled');
    expect((await call('POST', `/api/runs/${id}/nodes/ghost/cancel`)).json.error).toBe('no node "ghost" in this task graph');
    expect((await call('POST', `/api/runs/${id}/nodes/bad!id/cancel`)).status).toBe(400);
    expect(nodeOf(await progress(id), 'sibling').status).toBe('running');

    const done = await until(id, (p) => p.status === 'Done');
    expect(done.nodes.map((n: any) => [n.id, n.status])).toEqual([
      ['slow', 'cancelled'],
      ['after', 'skipped'],
      ['sibling', 'done'],
    ]);
    const late = await call('POST', `/api/runs/${id}/nodes/sibling/cancel`);
    expect(late.status).toBe(409);
    expect(late.json.error).toBe('run already finished (Done)');
  });

  test('When a failed node is retried through the API, then the waiting run completes', async () => {
    siteStatus = 503;
    const dag = [node('page', [], { kind: 'tool', tool: 'http_fetch', args: { url: `${siteUrl}/data` } }), node('read', ['page'], { kind: 'extract' })];
    const created = await call('POST', '/api/runs', { task: 'Retry over HTTP', dag, options: { onNodeFailure: 'wait', nodeMaxAttempts: 1 } });
    const id = created.json.id;
    const waiting = await until(id, (p) => p.status === 'Review');
    expect(nodeOf(waiting, 'page')).toMatchObject({ status: 'failed' });
    expect(nodeOf(waiting, 'read')).toMatchObject({ status: 'skipped' });
    expect((await call('POST', `/api/runs/${id}/nodes/read/retry`)).json.error).toBe('node "read" is skipped and cannot be retried');
    siteStatus = 200;
    expect(await call('POST', `/api/runs/${id}/nodes/page/retry`)).toEqual({ status: 200, json: { nodeId: 'page', status: 'pending' } });
    const done = await until(id, (p) => p.status === 'Done');
    expect(nodeOf(done, 'page').output).toContain('content of /data');
    expect(nodeOf(done, 'read').status).toBe('done');
  });

  test('When a command node waits for approval, then the API approval runs it on the desktop and a rejection fails it', async () => {
    const queue = `desk-api-${Date.now()}`;
    const desktop = await createDesktopWorker({ connection: env.nativeConnection, config, queue });
    const running = desktop.run();
    try {
      const argv = [process.execPath, '-e', 'console.log("approved run")'];
      const dag = [
        node('ok', [], { kind: 'command', args: { argv } }),
        node('no', [], { kind: 'command', args: { argv } }),
        node('needsNo', ['no']),
      ];
      // Robots that may run commands come from robot definitions; here the run is started with one directly.
      const handle = await env.client.workflow.start(robotRunWorkflow, {
        taskQueue: config.MC_TASK_QUEUE,
        workflowId: `run-approval-${Date.now()}`,
        args: [
          {
            task: 'Approve commands over HTTP',
            robot: { id: 'ops', name: 'Ops', role: 'Operator', version: 1, tools: ['command'] },
            trigger: 'api',
            dag,
            options: { desktopQueue: queue, onNodeFailure: 'continue' },
          },
        ],
      });
      const id = handle.workflowId;
      const waiting = await until(id, (p) => nodeOf(p, 'ok')?.status === 'waiting' && nodeOf(p, 'no')?.status === 'waiting');
      expect(waiting.status).toBe('Review');
      expect((await call('POST', `/api/runs/${id}/nodes/ok/approval`, { decision: 'maybe' })).status).toBe(400);
      expect(await call('POST', `/api/runs/${id}/nodes/ok/approval`, { decision: 'approve' })).toEqual({ status: 200, json: { nodeId: 'ok', status: 'waiting' } });
      expect((await call('POST', `/api/runs/${id}/nodes/no/approval`, { decision: 'reject', feedback: 'not today' })).status).toBe(200);
      expect((await call('POST', `/api/runs/${id}/nodes/no/approval`, { decision: 'approve' })).status).toBe(409);
      const done = await until(id, (p) => p.status === 'Done');
      expect(nodeOf(done, 'ok')).toMatchObject({ status: 'done', model: 'tool:command' });
      expect(nodeOf(done, 'ok').output).toContain('approved run');
      expect(nodeOf(done, 'no')).toMatchObject({ status: 'failed', error: 'rejected by a person: not today' });
      expect(nodeOf(done, 'needsNo').status).toBe('skipped');
    } finally {
      desktop.shutdown();
      await running;
    }
  });

  test('When a run starts with an invalid graph or bad options, then it answers 400 naming the field', async () => {
    const bad = await call('POST', '/api/runs', { task: 'x', options: { onNodeFailure: 'explode' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('options.onNodeFailure');
    const noKind = await call('POST', '/api/runs', { task: 'x', dag: [{ id: 'a', title: 'a' }] });
    expect(noKind.status).toBe(400);
    expect(noKind.json.error).toContain('dag.0.instructions');
  });
});
