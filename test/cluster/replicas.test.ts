/**
 * Two API replicas as `npm run api` runs them (each its own process-level connection to the cluster, no shared
 * memory), one worker: an event of a run started on either replica reaches an SSE client of the other, and a
 * robot's concurrency limit holds for runs triggered through both replicas.
 */
import type { RunningApi } from '../../api/main';
import type { Config } from '../../lib/config';
import { apiClient } from '../helpers/http';
import { startWorkerAt } from '../../testkit/dev-server';
import { openSse, SseClient } from '../helpers/sse';
import { createTestEnv, eventually } from '../../testkit/temporal';
import { cluster, clusterConfig, startReplica } from './cluster-env';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

const KEY = 'cluster-replicas-key';
const auth = { authorization: `Bearer ${KEY}` };
let env: TestWorkflowEnvironment;
let config: Config;
let worker: { stop(): Promise<void> } | undefined;
const replicas: RunningApi[] = [];
const streams: SseClient[] = [];

const callOn = (r: RunningApi) => apiClient(() => r.web.url, KEY);
const runEvents = (s: SseClient, id: string) =>
  s.messages.filter((m) => m.event === 'run-event').map((m) => JSON.parse(m.data)).filter((e) => e.runId === id);

beforeAll(async () => {
  cluster();
  // The environment creates this file's namespace (and deletes it at the end); the app connects on its own.
  env = await createTestEnv();
  config = clusterConfig({ MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '300', MC_SLOT_CHECK_SECONDS: '1' });
  worker = await startWorkerAt(env.address, config);
  replicas.push(await startReplica(config), await startReplica(config));
});

afterAll(async () => {
  for (const s of streams) s.close();
  for (const r of replicas) await r.stop();
  await worker?.stop();
  await env?.teardown();
});

test('When a run starts on one replica, then an SSE client of the other replica receives all its events in order, both ways round', async () => {
  const [a, b] = replicas;
  for (const [starter, watcher] of [
    [a, b],
    [b, a],
  ]) {
    const stream = await openSse(`${watcher.web.url}/api/events`, auth);
    streams.push(stream);
    expect(stream.status).toBe(200);
    const started = await callOn(starter)('POST', '/api/runs', { task: `Pushed from ${starter === a ? 'A' : 'B'} to the other replica` });
    expect(started.status).toBe(201);
    const id = started.json.id as string;
    await stream.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done', 60_000);
    const events = runEvents(stream, id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0].type).toBe('run.running');
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['stage.started', 'dag.planned', 'node.completed', 'stage.completed']));
    // What the stream pushed is what the run itself records.
    const recorded = (await callOn(watcher)('GET', `/api/runs/${id}`)).json.events.map((e: { seq: number }) => e.seq);
    expect(events.map((e) => e.seq)).toEqual(recorded);
  }
});

test('When a robot with limit 1 is triggered through both replicas, then one run at a time runs, the others wait Pending, and all finish', async () => {
  const [a, b] = replicas;
  expect((await callOn(a)('POST', '/api/robots', { id: 'solo', name: 'Solo', role: 'One thing at a time.', concurrencyLimit: 1 })).status).toBe(201);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await callOn(i % 2 ? b : a)('POST', '/api/robots/solo/trigger', { task: `Job ${i}` });
    expect(r.status).toBe(201);
    ids.push(r.json.id);
  }
  const statuses = async () =>
    Object.fromEntries(await Promise.all(ids.map(async (id, i) => [id, (await callOn(i % 2 ? a : b)('GET', `/api/runs/${id}`)).json.status] as const)));
  const count = (s: Record<string, string>, status: string) => Object.values(s).filter((x) => x === status).length;

  let maxRunning = 0;
  await eventually(async () => {
    const s = await statuses();
    maxRunning = Math.max(maxRunning, count(s, 'Running'));
    return count(s, 'Done') === ids.length;
  }, 180_000, 200);
  expect(maxRunning).toBe(1);
  // From the runs' own records: their Running intervals do not overlap, and every one waited for its slot.
  const runs = await Promise.all(ids.map(async (id) => (await callOn(a)('GET', `/api/runs/${id}`)).json));
  const byStart = [...runs].sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
  for (let i = 1; i < byStart.length; i++) expect(Date.parse(byStart[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(byStart[i - 1].finishedAt));
  expect(runs.every((r) => r.events.some((e: { type: string }) => e.type === 'run.waiting'))).toBe(true);
});
