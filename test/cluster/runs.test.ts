/**
 * On temporal-server + PostgreSQL: a run through the API to Done, listing by status and robot from SQL visibility
 * (no worker needed to look), and a robot on a Temporal Schedule running on its own, pausing and resuming.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiClient, runWaiter } from '../helpers/http';
import { startTestApi, TestApi } from '../../testkit/api';
import { createTestEnv, eventually, TEST_NAMESPACE } from '../../testkit/temporal';
import { cluster } from './cluster-env';

const KEY = 'cluster-runs-key';
let env: TestWorkflowEnvironment;
let api: TestApi;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster();
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'k', MC_OFFLINE_DELAY_MS: '100' });
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

test('When the tests run here, then the server is temporal-server on PostgreSQL with SQL visibility, and this file has a namespace of its own', async () => {
  const info = await env.connection.workflowService.getClusterInfo({});
  expect(info.persistenceStore).toBe('postgres12');
  expect(info.visibilityStore).toBe('postgres12');
  expect(info.historyShardCount).toBe(4);
  expect(env.namespace).toBe(TEST_NAMESPACE);
  expect(TEST_NAMESPACE).toMatch(/^mc-test-/);
  const attrs = await env.connection.operatorService.listSearchAttributes({ namespace: TEST_NAMESPACE });
  expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['McStatus', 'McRobotId', 'McTrigger', 'McStage']));
});

test('When a robot runs on a 2-second schedule, then the cluster starts its runs on its own; pause stops them and resume restarts them', async () => {
  const created = await call('POST', '/api/robots', {
    id: 'ticker', name: 'Ticker', role: 'Checks the feed.', duty: 'Check the feed.', workMode: 'autonomous', schedule: { every: '2s' },
  });
  expect(created.status).toBe(201);
  const next = created.json.state.nextRunTimes.map((t: string) => Date.parse(t));
  expect(next[1] - next[0]).toBe(2000);
  const actions = async () => (await call('GET', '/api/robots/ticker')).json.state.actionsTaken as number;
  const scheduled = async () => ((await call('GET', '/api/robots/ticker/runs')).json.runs as any[]).filter((r) => r.trigger === 'schedule');

  const runs = await eventually(async () => {
    const r = await scheduled();
    return r.length >= 2 ? r : undefined;
  }, 30_000, 250);
  expect(runs.every((r) => r.id.startsWith('run-sched-ticker-'))).toBe(true);
  const done = await waitFor(runs[0].id, (r) => r.status === 'Done', 30_000);
  expect(done).toMatchObject({ trigger: 'schedule', task: 'Check the feed.', robot: { id: 'ticker', version: 1 } });

  const paused = await call('POST', '/api/robots/ticker/schedule/pause', { note: 'cluster test' });
  expect(paused.json.state).toMatchObject({ paused: true, nextRunTimes: [] });
  const atPause = await actions();
  await sleep(5000);
  expect(await actions()).toBe(atPause);

  expect((await call('POST', '/api/robots/ticker/schedule/resume')).json.state.paused).toBe(false);
  await eventually(async () => (await actions()) >= atPause + 2, 30_000, 250);
  await call('POST', '/api/robots/ticker/schedule/pause');
});

test('When a run is started through the API, then it reaches Done with five stages, and SQL visibility lists it by status and robot, without a worker', async () => {
  const robot = await call('POST', '/api/robots', { id: 'lister', name: 'Lister', role: 'Lists things.' });
  expect(robot.status).toBe(201);
  const ids: string[] = [];
  for (const task of ['First durable run on the cluster', 'Second durable run on the cluster']) {
    const r = await call('POST', '/api/runs', { task, robotId: 'lister' });
    expect(r.status).toBe(201);
    ids.push(r.json.id);
  }
  const adhoc = (await call('POST', '/api/runs', { task: 'A run of the default robot' })).json.id as string;
  for (const id of [...ids, adhoc]) {
    const done = await waitFor(id, (r) => r.status === 'Done', 60_000);
    expect(done.stages.map((s: any) => [s.name, s.status])).toEqual(
      ['inspiration', 'goals', 'tasks', 'validation', 'delivery'].map((n) => [n, 'done']),
    );
  }

  // Visibility on PostgreSQL is written asynchronously by the history service: give it a moment.
  await api.stopWorker();
  const listed = await eventually(async () => {
    const r = await call('GET', '/api/runs?status=Done&robotId=lister');
    return r.status === 200 && r.json.runs.length === 2 ? r.json.runs : undefined;
  }, 30_000, 250);
  expect(listed.map((r: any) => r.id).sort()).toEqual([...ids].sort());
  expect(listed.every((r: any) => r.status === 'Done' && r.robotId === 'lister' && r.trigger === 'api')).toBe(true);
  const all = (await call('GET', '/api/runs?status=Done')).json.runs.map((r: any) => r.id);
  expect(all).toEqual(expect.arrayContaining([...ids, adhoc]));
  expect((await call('GET', '/api/runs?status=Running&robotId=lister')).json.runs).toEqual([]);
  // Counts come from the same visibility store (the schedule test's runs are in this namespace too).
  const stats = (await call('GET', '/api/stats')).json;
  expect(stats.counts.Done).toBe(all.length);
  // A finished run reads from its result in history: no worker needed.
  const shown = await call('GET', `/api/runs/${adhoc}`);
  expect(shown.json).toMatchObject({ status: 'Done', stateSource: 'result' });
});
