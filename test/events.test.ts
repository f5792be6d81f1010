/**
 * Pushed updates: the SSE activity stream and per-run state stream, against a real dev server and worker, with
 * two API instances (replicas) on one Temporal, and resumption with Last-Event-ID from an instance that has no
 * memory of the events.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import type { Config } from '../lib/config';
import { createMetrics } from '../lib/metrics';
import { openSse, SseClient } from './helpers/sse';
import { createTestEnv, startTestWorker, testConfig } from '../testkit/temporal';

const KEY = 'events-test-key';
const auth = { authorization: `Bearer ${KEY}` };
let env: TestWorkflowEnvironment;
let config: Config;
let worker: Worker;
let workerDone: Promise<void>;
const servers: WebServer[] = [];
const streams: SseClient[] = [];

async function replica(): Promise<WebServer> {
  const web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
  servers.push(web);
  return web;
}

async function sse(url: string, headers: Record<string, string> = {}) {
  const s = await openSse(url, { ...auth, ...headers });
  streams.push(s);
  return s;
}

async function startRun(web: WebServer, task: string): Promise<string> {
  const res = await fetch(`${web.url}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task }) });
  return ((await res.json()) as { id: string }).id;
}

const runEvents = (s: SseClient, id: string) => s.messages.filter((m) => m.event === 'run-event').map((m) => JSON.parse(m.data)).filter((e) => e.runId === id);

beforeAll(async () => {
  env = await createTestEnv();
  config = testConfig({ MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '250' });
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
});

afterAll(async () => {
  for (const s of streams) s.close();
  for (const w of servers) await w.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

test('When /api/events is opened without credentials, then it is refused', async () => {
  const web = await replica();
  const res = await fetch(`${web.url}/api/events`);
  expect(res.status).toBe(401);
});

test('When a run is started on one replica, then a stream on another replica receives all its events in order', async () => {
  const [a, b] = [await replica(), await replica()];
  const stream = await sse(`${a.url}/api/events`);
  const id = await startRun(b, 'Pushed across replicas');
  await stream.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done', 30_000);
  const events = runEvents(stream, id);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  // The pipeline's own events in order; the Tasks stage's graph reports its nodes in between.
  expect(events.map((e) => e.type).filter((t) => t.startsWith('run.') || t.startsWith('stage.'))).toEqual([
    'run.running',
    ...['inspiration', 'goals', 'tasks', 'validation'].flatMap(() => ['stage.started', 'stage.completed']),
    // Delivery is formatted, then takes effect (a final approval gate may stand between the two).
    'stage.started',
    'stage.formatted',
    'stage.completed',
    'run.done',
  ]);
  expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['dag.planned', 'node.started', 'node.completed']));
  const ids = stream.messages.filter((m) => m.event === 'run-event').map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
});

test('When a client reconnects with Last-Event-ID to a replica without memory, then it gets exactly the events it missed', async () => {
  const a = await replica();
  const first = await sse(`${a.url}/api/events`);
  const id = await startRun(a, 'Resume me');
  const third = await first.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).seq === 3, 30_000);
  first.close();
  // Let the run finish while nobody listens, then resume on a brand-new replica.
  const done = await sse(`${a.url}/api/runs/${id}/stream`);
  await done.waitFor((m) => m.event === 'state' && JSON.parse(m.data).status === 'Done', 30_000);
  const fresh = await replica();
  const resumed = await sse(`${fresh.url}/api/events`, { 'last-event-id': third.id! });
  const last = await resumed.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done', 10_000);
  expect(last).toBeDefined();
  // Exactly the events after the third, as the run itself records them: no gap, no duplicate.
  const all = (await (await fetch(`${fresh.url}/api/runs/${id}`, { headers: auth })).json()) as { events: { seq: number }[] };
  expect(all.events.length).toBeGreaterThan(10);
  expect(runEvents(resumed, id).map((e) => e.seq)).toEqual(all.events.map((e) => e.seq).filter((seq) => seq > 3));
});

test('When a run stream is opened, then it starts with the current state and pushes every stage change until Done', async () => {
  const a = await replica();
  const id = await startRun(a, 'Watch my state');
  const stream = await sse(`${a.url}/api/runs/${id}/stream`);
  await stream.waitFor((m) => m.event === 'state' && JSON.parse(m.data).status === 'Done', 30_000);
  const states = stream.messages.filter((m) => m.event === 'state').map((m) => JSON.parse(m.data));
  expect(states[0].runId).toBe(id);
  const doneCounts = states.map((s) => (s.stages ?? []).filter((st: any) => st.status === 'done').length);
  // Monotonic progress, ending with all five stages done, and at least one change pushed after the first state
  // (how many intermediate states arrive depends on how busy the machine is; each is a whole state).
  expect(doneCounts).toEqual([...doneCounts].sort((x, y) => x - y));
  expect(doneCounts.at(-1)).toBe(5);
  expect(new Set(doneCounts).size).toBeGreaterThanOrEqual(2);
  const missing = await fetch(`${a.url}/api/runs/run-none/stream`, { headers: auth });
  expect(missing.status).toBe(404);
});
