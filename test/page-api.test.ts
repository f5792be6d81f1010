/**
 * The API's read models for the page, over HTTP on a real dev server: recent activity (filled from Temporal, naming
 * task and robot, capped per robot), series for the charts, spend per robot per day, board fields and paging of
 * run lists, the event stream's run glance, the libraries served from node_modules, the login page's public files;
 * and the pure parts: the fleet from worker heartbeats, a run's recovery from its history.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { fleetOf } from '../api/fleet';
import { recoveryOf } from '../api/recovery';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { apiClient, runWaiter } from './helpers/http';
import { openSse } from './helpers/sse';

const KEY = 'page-api-key';
let env: TestWorkflowEnvironment;
let api: TestApi;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);
const chatty: string[] = [];
let quiet: string;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY });
  for (const id of ['chatty', 'quiet']) {
    expect((await call('POST', '/api/robots', { id, name: `${id} robot`, role: `The ${id} one.` })).status).toBe(201);
  }
  for (let i = 0; i < 6; i++) chatty.push((await call('POST', '/api/runs', { task: `Chatty task ${i}`, robotId: 'chatty' })).json.id);
  quiet = (await call('POST', '/api/runs', { task: 'The quiet task', robotId: 'quiet' })).json.id;
  for (const id of [...chatty, quiet]) await waitFor(id, (r) => r.status === 'Done', 60_000);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('activity', () => {
  test('When the activity is read, then it comes newest first from Temporal, each entry names its task and robot, and one chatty robot cannot drown the quiet one', async () => {
    const r = await call('GET', '/api/activity?perRobot=5&limit=100');
    expect(r.status).toBe(200);
    const events = r.json.events as { at: string; runId: string; type: string; run: { robotId: string; robotName: string; task: string } }[];
    expect(events.filter((e) => e.run.robotId === 'chatty').length).toBe(5);
    const quietOnes = events.filter((e) => e.run.robotId === 'quiet');
    expect(quietOnes.length).toBe(5);
    expect(quietOnes[0]).toMatchObject({ runId: quiet, run: { robotName: 'quiet robot', task: 'The quiet task' } });
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort().reverse());
  });

  test('When the activity is filtered by robot and kind, then only those entries come back', async () => {
    const r = await call('GET', '/api/activity?robotId=chatty&kind=stage&limit=500&perRobot=500');
    const events = r.json.events as { type: string; runId: string; run: { robotId: string } }[];
    expect(events.length).toBeGreaterThan(20);
    expect(events.every((e) => e.type.startsWith('stage.') && e.run.robotId === 'chatty')).toBe(true);
    expect(new Set(events.map((e) => e.runId)).size).toBe(6);
    expect((await call('GET', '/api/activity?kind=nonsense')).status).toBe(400);
  });

  test('When a client listens to /api/events, then each event carries its run\'s task, robot and usage', async () => {
    const sse = await openSse(`${api.web.url}/api/events`, { authorization: `Bearer ${KEY}` });
    const id = (await call('POST', '/api/runs', { task: 'An event with a glance', robotId: 'quiet' })).json.id;
    const done = await sse.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done', 30_000);
    sse.close();
    expect(JSON.parse(done.data).run).toMatchObject({ task: 'An event with a glance', robotId: 'quiet', robotName: 'quiet robot', usage: { calls: expect.any(Number) } });
  });
});

describe('runs for the board', () => {
  test('When runs are listed, then each carries its robot name and usage, and a closed column pages by closedBefore without overlap', async () => {
    const first = (await call('GET', '/api/runs?status=Done&robotId=chatty&limit=2')).json.runs;
    expect(first).toHaveLength(2);
    expect(first[0]).toMatchObject({ robotName: 'chatty robot', usage: { calls: expect.any(Number) } });
    expect(first[0].usage.inputTokens).toBeGreaterThan(0);
    const next = (await call('GET', `/api/runs?status=Done&robotId=chatty&limit=10&closedBefore=${encodeURIComponent(first[1].closedAt)}`)).json.runs;
    expect(next).toHaveLength(4);
    const ids = [...first, ...next].map((r: { id: string }) => r.id);
    expect(new Set(ids)).toEqual(new Set(chatty));
    expect(next.every((r: { closedAt: string }) => r.closedAt < first[1].closedAt)).toBe(true);
    expect((await call('GET', '/api/runs?closedBefore=yesterday')).status).toBe(400);
  });
});

describe('figures', () => {
  test('When the series of the last hour is read, then finished runs, tokens and stage duration percentiles are there', async () => {
    const r = await call('GET', '/api/stats/series?window=1h');
    expect(r.status).toBe(200);
    expect(r.json.buckets).toHaveLength(60);
    expect(r.json.bucketSeconds).toBe(60);
    const sum = (k: string) => r.json.buckets.reduce((n: number, b: Record<string, number>) => n + b[k], 0);
    expect(sum('started')).toBeGreaterThanOrEqual(7);
    expect(sum('done')).toBeGreaterThanOrEqual(7);
    expect(sum('tokens')).toBeGreaterThan(0);
    expect(r.json.stageDurationsMs.inspiration.n).toBeGreaterThanOrEqual(7);
    expect(r.json.stageDurationsMs.inspiration.p50).toBeLessThanOrEqual(r.json.stageDurationsMs.inspiration.p90);
    expect((await call('GET', '/api/stats/series?window=2y')).status).toBe(400);
  });

  test('When the spend is read, then each robot has its runs, tokens and cost on today\'s date in the asked time zone', async () => {
    const r = await call('GET', '/api/spend?days=3&timezone=Pacific/Auckland');
    expect(r.status).toBe(200);
    expect(r.json.days).toHaveLength(3);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Pacific/Auckland' }).format(new Date());
    expect(r.json.days.at(-1)).toBe(today);
    const row = r.json.robots.find((x: { robotId: string }) => x.robotId === 'chatty');
    expect(row.perDay.at(-1)).toMatchObject({ day: today, runs: 6 });
    expect(row.total.inputTokens).toBeGreaterThan(0);
    expect(row.lastRun.id).toBe(chatty.at(-1));
    expect((await call('GET', '/api/spend?timezone=Mars/Olympus')).status).toBe(400);
    const one = await call('GET', '/api/spend?robotId=quiet');
    expect(one.json.robots.map((x: { robotId: string }) => x.robotId)).toEqual(['quiet']);
  });
});

describe('the page\'s files', () => {
  test('When a library is asked for, then it comes from node_modules with credentials, its source map reference dropped; anything else is 404; login files are public', async () => {
    const marked = await call('GET', '/vendor/marked.js');
    expect(marked.status).toBe(200);
    expect(marked.headers.get('content-type')).toMatch(/javascript/);
    expect(marked.text).toMatch(/export\s*\{/);
    expect(marked.text).not.toMatch(/sourceMappingURL/);
    for (const f of ['purify.js', 'uplot.js', 'uplot.css', 'dagre.js', 'cronstrue.js']) expect([f, (await call('GET', `/vendor/${f}`)).status]).toEqual([f, 200]);
    expect((await call('GET', '/vendor/..%2Fpackage.json')).status).toBe(404);
    expect((await call('GET', '/vendor/constructor')).status).toBe(404);
    expect((await fetch(`${api.web.url}/vendor/marked.js`)).status).toBe(401);
    expect((await fetch(`${api.web.url}/js/main.js`)).status).toBe(401);
    const loginJs = await fetch(`${api.web.url}/login/assets/login.js`);
    expect([loginJs.status, loginJs.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect((await fetch(`${api.web.url}/login/assets/login.css`)).status).toBe(200);
    expect((await fetch(`${api.web.url}/login/assets/index.html`)).status).toBe(400);
    // The login page has no inline script or style (the CSP allows none).
    const html = await (await fetch(`${api.web.url}/login`)).text();
    expect(html).not.toMatch(/<script>|<style>| style=/);
  });

  test('When an ad-hoc robot is given tools, then its run gets exactly those', async () => {
    const r = await call('POST', '/api/runs', { task: 'Tools of an ad-hoc robot', robot: { name: 'Runner', role: 'Runs things', tools: ['command', 'http_fetch'] } });
    expect(r.status).toBe(201);
    const state = await waitFor(r.json.id, (s) => s.robot?.tools !== undefined);
    expect(state.robot).toMatchObject({ id: 'adhoc', name: 'Runner', tools: ['command', 'http_fetch'] });
    expect((await call('POST', '/api/runs', { task: 'x', robot: { name: 'R', role: 'r', tools: ['Not A Tool'] } })).status).toBe(400);
  });
});

// ---- pure parts ------------------------------------------------------------------------------------------------------

const Status = temporal.api.enums.v1.WorkerStatus;
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const beat = (o: { host: string; pid: string; queue: string; at: number; workflows?: boolean; status?: number; cpu?: number; mem?: number; busy?: number }) => ({
  workerIdentity: `${o.pid}@${o.host}`,
  taskQueue: o.queue,
  status: o.status ?? Status.WORKER_STATUS_RUNNING,
  heartbeatTime: ts(o.at),
  startTime: ts(o.at - 60_000),
  sdkName: 'temporal-typescript',
  sdkVersion: '1.24.0',
  hostInfo: { hostName: o.host, processId: o.pid, currentHostCpuUsage: o.cpu ?? 0.5, currentHostMemUsage: o.mem ?? 0.25 },
  workflowTaskSlotsInfo: o.workflows ? { currentAvailableSlots: 40, currentUsedSlots: 0 } : {},
  activityTaskSlotsInfo: { currentAvailableSlots: 100, currentUsedSlots: o.busy ?? 0, totalProcessedTasks: 3 },
});

describe('the fleet from heartbeats', () => {
  test('When heartbeats are listed, then stale and shut-down workers are left out, one process is one entry, desktops are told apart, and CPU/RAM are per host', () => {
    const now = Date.parse('2030-01-01T12:00:00Z');
    const fleet = fleetOf(
      ([
        beat({ host: 'a', pid: '1', queue: 'runs', at: now - 2000, workflows: true, cpu: 0.2, mem: 0.4, busy: 2 }),
        beat({ host: 'a', pid: '1', queue: 'desk-a', at: now - 1000, cpu: 0.3, mem: 0.5, busy: 1 }),
        beat({ host: 'b', pid: '7', queue: 'desk-b', at: now - 3000, cpu: 0.9, mem: 0.1 }),
        beat({ host: 'c', pid: '9', queue: 'runs', at: now - 16_000, workflows: true }),
        beat({ host: 'd', pid: '4', queue: 'runs', at: now - 1000, workflows: true, status: Status.WORKER_STATUS_SHUTDOWN }),
      ] as never),
      now,
      15,
    );
    expect(fleet.workers.map((w) => [w.identity, w.kind, w.taskQueues, w.desktopQueues, w.inFlightActivities])).toEqual([
      ['1@a', 'worker', ['desk-a', 'runs'], ['desk-a'], 3],
      ['7@b', 'desktop', ['desk-b'], ['desk-b'], 0],
    ]);
    expect(fleet.workers[0]).toMatchObject({ cpu: 0.3, memory: 0.5, lastHeartbeat: new Date(now - 1000).toISOString() });
    expect(fleet.totals).toEqual({ workers: 2, desktops: 1, hosts: 2, cpu: 0.6, memory: 0.3, inFlightActivities: 3 });
    expect(fleetOf([], now, 15).totals).toEqual({ workers: 0, desktops: 0, hosts: 0, cpu: null, memory: null, inFlightActivities: 0 });
  });
});

describe('recovery from a run\'s history', () => {
  const T = temporal.api.enums.v1.TimeoutType;
  let n = 0;
  const ev = (attrs: Record<string, unknown>) => ({ eventId: ++n, eventTime: ts(Date.parse('2030-01-01T00:00:00Z') + n * 1000), ...attrs });
  const scheduled = (type: string, node?: string) => ev({ activityTaskScheduledEventAttributes: { activityType: { name: type }, input: { payloads: [] }, ...(node ? { node } : {}) } });
  const started = (s: { eventId: number }, attempt = 1, timeout?: number) =>
    ev({ activityTaskStartedEventAttributes: { scheduledEventId: s.eventId, attempt, ...(timeout !== undefined ? { lastFailure: { timeoutFailureInfo: { timeoutType: timeout } } } : {}) } });
  const completed = (s: { eventId: number }) => ev({ activityTaskCompletedEventAttributes: { scheduledEventId: s.eventId } });
  const stages = (revisions: Record<string, number> = {}) => ['inspiration', 'goals', 'tasks', 'validation', 'delivery'].map((name) => ({ name, revisions: revisions[name] }));
  const nodeOf = (e: { activityTaskScheduledEventAttributes?: { node?: string } }) => e.activityTaskScheduledEventAttributes?.node;

  test('When an attempt timed out on its heartbeat and was retried, then the run survived, and no completed step was repeated', () => {
    const i = scheduled('inspirationStage');
    const g = scheduled('goalsStage');
    const history = [i, started(i), completed(i), g, started(g, 2, T.TIMEOUT_TYPE_HEARTBEAT), completed(g)];
    const r = recoveryOf(history as never, { stages: stages() } as never, nodeOf as never);
    expect(r).toMatchObject({ survived: true, repeatedCompletedSteps: 0, summary: 'worker lost during Goals; resumed, 0 completed steps repeated' });
    expect(r.losses).toEqual([expect.objectContaining({ kind: 'activity', stage: 'goals', activity: 'goalsStage', attempt: 2, cause: 'the worker stopped heartbeating' })]);
  });

  test('When a completed stage or node ran again without a revision, then it is counted; a revision is not, nor an ordinary failed attempt', () => {
    const i1 = scheduled('inspirationStage');
    const i2 = scheduled('inspirationStage');
    const p = scheduled('planDag');
    const n1 = scheduled('runDagNode', 't1');
    const n1again = scheduled('runDagNode', 't1');
    const g = scheduled('goalsStage');
    const history = [i1, started(i1), completed(i1), i2, started(i2), completed(i2), g, started(g, 3), completed(g), p, started(p), completed(p), n1, started(n1), completed(n1), n1again, started(n1again), completed(n1again)];
    const state = { stages: stages(), dag: { nodes: [{ id: 't1', runs: 1 }] } };
    expect(recoveryOf(history as never, state as never, nodeOf as never)).toMatchObject({ survived: false, repeatedCompletedSteps: 2, summary: null });
    const revised = { stages: stages({ inspiration: 1 }), dag: { nodes: [{ id: 't1', runs: 2 }] } };
    expect(recoveryOf(history as never, revised as never, nodeOf as never).repeatedCompletedSteps).toBe(0);
  });

  test('When a workflow task timed out on a sticky queue, then the run survived a lost workflow worker', () => {
    const history = [ev({ workflowTaskTimedOutEventAttributes: { timeoutType: T.TIMEOUT_TYPE_SCHEDULE_TO_START } })];
    expect(recoveryOf(history as never, { stages: stages() } as never, nodeOf as never)).toMatchObject({ survived: true, summary: 'workflow worker lost; resumed, 0 completed steps repeated' });
  });
});
