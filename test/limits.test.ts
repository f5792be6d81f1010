/**
 * Limits, probed over HTTP from several client addresses (127.0.0.x: each test speaks from an address of its own,
 * so one test's lockout is not another's): bursts of wrong passwords and keys, run starts and requests per key,
 * SSE connections per key, and the catch-up of a client that resumes from 1970.
 */
import http from 'node:http';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startWebServer, type WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { publishedAfter, type StreamEvent } from '../api/run-watcher';
import { createMetrics } from '../lib/metrics';
import { openSse, SseClient } from './helpers/sse';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually, testConfig } from '../testkit/temporal';

const KEYS = ['limits-key-1', 'limits-key-2', 'limits-key-3', 'limits-key-4'];
const PASSWORD = 'limits test password';
let env: TestWorkflowEnvironment;
/** The API with a worker (runs, streams), with the run-start, stream and catch-up limits under test. */
let api: TestApi;
/**
 * Replicas without a worker for the request limits, each with a long window (a burst cannot straddle two windows,
 * however slow the machine) or, to see a window end, a short one.
 */
let longWindow: WebServer;
let shortWindow: WebServer;
const streams: SseClient[] = [];

async function replica(vars: Record<string, string>): Promise<WebServer> {
  const config = testConfig({ MC_API_KEYS: KEYS.join(','), MC_ADMIN_PASSWORD: PASSWORD, ...vars });
  return startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
}

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, {
    MC_API_KEYS: KEYS.join(','),
    MC_ADMIN_PASSWORD: PASSWORD,
    MC_RATE_LIMIT_RUN_STARTS: '5',
    MC_SSE_MAX_PER_KEY: '20',
    MC_SSE_CATCHUP_MAX_EVENTS: '40',
    MC_SSE_CATCHUP_MAX_BYTES: '12000',
  });
  longWindow = await replica({
    MC_RATE_LIMIT_WINDOW_SECONDS: '600',
    MC_RATE_LIMIT_LOGIN: '10',
    MC_RATE_LIMIT_AUTH_FAILURES: '20',
    MC_RATE_LIMIT_PER_KEY: '50',
    MC_RATE_LIMIT_PER_ADDRESS: '200',
  });
  shortWindow = await replica({ MC_RATE_LIMIT_WINDOW_SECONDS: '2', MC_RATE_LIMIT_LOGIN: '3' });
});

afterAll(async () => {
  for (const s of streams) s.close();
  await longWindow?.stop();
  await shortWindow?.stop();
  await api?.stop();
  await env?.teardown();
});

interface Answer {
  status: number;
  retryAfter?: string;
  body: any;
}

/** A request sent from a chosen local address (the server sees it as the client's address); to `server` (default: the long-window replica). */
function from(address: string, method: string, path: string, headers: Record<string, string> = {}, body?: string, server: string = longWindow.url): Promise<Answer> {
  const url = new URL(path, server);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, localAddress: address, headers: { ...headers, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const login = (address: string, password: string, server?: string) => from(address, 'POST', '/login', {}, JSON.stringify({ password }), server);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('When 100 wrong passwords arrive in a burst, then 429s with Retry-After follow the limit, the right password too; another address signs in', async () => {
  const attacker = '127.0.0.11';
  const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => login(attacker, `guess-${i}`)));
  const statuses = answers.map((a) => a.status);
  expect(statuses.filter((s) => s === 401)).toHaveLength(10);
  expect(statuses.filter((s) => s === 429)).toHaveLength(90);
  const refused = answers.find((a) => a.status === 429)!;
  expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(refused.retryAfter)).toBeLessThanOrEqual(600);
  expect(refused.body.error).toMatch(/^too many requests: more than 10 failed sign-ins from this address in 600 s; try again in \d+ s$/);
  // During the lockout the right password is refused like any other guess (nothing tells a right guess apart)...
  expect((await login(attacker, PASSWORD)).status).toBe(429);
  // ...while another address signs in as usual.
  expect((await login('127.0.0.12', PASSWORD)).status).toBe(200);
});

test('When the login window has passed after a lockout, then the right password works again', async () => {
  const attacker = '127.0.0.18';
  const answers: Answer[] = [];
  for (let i = 0; i < 5; i++) answers.push(await login(attacker, `guess-${i}`, shortWindow.url));
  expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
  expect((await login(attacker, PASSWORD, shortWindow.url)).status).toBe(429);
  await sleep(Number(answers[4].retryAfter) * 1000 + 200);
  const after = await login(attacker, PASSWORD, shortWindow.url);
  expect([after.status, after.body]).toEqual([200, { ok: true }]);
});

test('When an address sends wrong API keys in a burst, then it gets 429 after the limit, for good keys too, until the window ends', async () => {
  const attacker = '127.0.0.13';
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => from(attacker, 'GET', '/api/runs', { authorization: `Bearer wrong-${i}` })));
  expect(answers.filter((a) => a.status === 401)).toHaveLength(20);
  expect(answers.filter((a) => a.status === 429)).toHaveLength(20);
  expect(Number(answers.find((a) => a.status === 429)!.retryAfter)).toBeGreaterThanOrEqual(1);
  expect((await from(attacker, 'GET', '/api/info', { authorization: `Bearer ${KEYS[0]}` })).status).toBe(429);
  expect((await from('127.0.0.14', 'GET', '/api/info', { authorization: `Bearer ${KEYS[0]}` })).status).toBe(200);
});

test('When one key starts runs in a burst, then starts past MC_RATE_LIMIT_RUN_STARTS get 429; another key is not affected', async () => {
  const address = '127.0.0.15';
  const start = (key: string, i: number) => from(address, 'POST', '/api/runs', { authorization: `Bearer ${key}` }, JSON.stringify({ task: `Burst run ${i}` }), api.web.url);
  const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => start(KEYS[1], i)));
  expect(burst.filter((a) => a.status === 201)).toHaveLength(5);
  const refused = burst.filter((a) => a.status === 429);
  expect(refused).toHaveLength(3);
  expect(refused[0].body.error).toMatch(/more than 5 run starts with this credential/);
  expect(refused[0].retryAfter).toBeDefined();
  expect((await start(KEYS[2], 99)).status).toBe(201);
  // Reading is not starting: the same key still reads.
  expect((await from(address, 'GET', '/api/info', { authorization: `Bearer ${KEYS[1]}` }, undefined, api.web.url)).status).toBe(200);
});

test('When one key sends more requests than MC_RATE_LIMIT_PER_KEY in a window, then the rest get 429 with Retry-After', async () => {
  const answers = await Promise.all(Array.from({ length: 60 }, () => from('127.0.0.16', 'GET', '/api/info', { authorization: `Bearer ${KEYS[3]}` })));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
  expect(answers.filter((a) => a.status === 429).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
  expect(answers.filter((a) => a.status === 429)).toHaveLength(10);
  // The same key from another address is the same credential: still refused.
  expect((await from('127.0.0.19', 'GET', '/api/info', { authorization: `Bearer ${KEYS[3]}` })).status).toBe(429);
});

test('When one address floods even public pages, then it gets 429 past MC_RATE_LIMIT_PER_ADDRESS; /healthz always answers', async () => {
  const answers = await Promise.all(Array.from({ length: 220 }, () => from('127.0.0.17', 'GET', '/login')));
  expect(answers.filter((a) => a.status === 200)).toHaveLength(200);
  expect(answers.filter((a) => a.status === 429)).toHaveLength(20);
  expect((await from('127.0.0.17', 'GET', '/healthz')).status).toBe(200);
});

test('When 50 event streams are opened with one key, then the extra ones are refused with 429; closing one frees a place; another key is not affected', async () => {
  const auth = { authorization: `Bearer ${KEYS[0]}` };
  const opened = await Promise.all(Array.from({ length: 50 }, () => openSse(`${api.web.url}/api/events`, auth)));
  streams.push(...opened);
  expect(opened.filter((s) => s.status === 200)).toHaveLength(20);
  expect(opened.filter((s) => s.status === 429)).toHaveLength(30);
  const runStream = await fetch(`${api.web.url}/api/runs/run-nope/stream`, { headers: auth });
  expect([runStream.status, await runStream.json()]).toEqual([404, { error: 'run not found' }]); // a 404 before it counts
  const other = await openSse(`${api.web.url}/api/events`, { authorization: `Bearer ${KEYS[2]}` });
  streams.push(other);
  expect(other.status).toBe(200);
  opened.find((s) => s.status === 200)!.close();
  const again = await eventually(async () => {
    const s = await openSse(`${api.web.url}/api/events`, auth);
    streams.push(s);
    return s.status === 200 ? s : undefined;
  }, 5000, 100);
  expect(again.status).toBe(200);
  for (const s of opened) s.close();
});

test('When a client resumes with a Last-Event-ID from 1970, then the catch-up is bounded in events and bytes and says it was cut', async () => {
  const auth = { authorization: `Bearer ${KEYS[2]}` };
  // Enough runs for more events than the catch-up may send.
  const started = await Promise.all([0, 1, 2].map((i) => fetch(`${api.web.url}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task: `Catch-up run ${i}` }) })));
  const ids = (await Promise.all(started.map((r) => r.json()))).map((j: any) => j.id as string);
  await eventually(async () => {
    const states = await Promise.all(ids.map(async (id) => ((await (await fetch(`${api.web.url}/api/runs/${id}`, { headers: auth })).json()) as any).status));
    return states.every((s) => s === 'Done');
  }, 30_000);
  // Nothing else is going (runs of earlier tests included), so every run-event below is the catch-up's, not live.
  await eventually(async () => {
    const going = await Promise.all(['Running', 'Pending'].map(async (status) => ((await (await fetch(`${api.web.url}/api/runs?status=${status}`, { headers: auth })).json()) as any).runs.length));
    return going.every((n) => n === 0);
  }, 60_000, 250);
  // ...and this API has published all it will: it also follows runs other replicas of this file started, found through
  // visibility, and their events go out live. Wait until a live stream stays quiet for 2 s.
  const live = await openSse(`${api.web.url}/api/events`, auth);
  streams.push(live);
  await eventually(async () => {
    const seen = live.messages.length;
    await sleep(2000);
    return live.messages.length === seen;
  }, 60_000, 0);
  live.close();
  const resumed = await openSse(`${api.web.url}/api/events`, { ...auth, 'last-event-id': '1-0-x' });
  streams.push(resumed);
  const cut = await resumed.waitFor((m) => m.event === 'catchup-truncated', 10_000);
  expect(JSON.parse(cut.data).reason).toMatch(/^catch-up cut: reaches back at most 3600 s.*at most 40 events/);
  await sleep(500);
  const events = resumed.messages.filter((m) => m.event === 'run-event');
  expect(events.length).toBeGreaterThan(0);
  expect(events.length).toBeLessThanOrEqual(40);
  expect(events.reduce((n, m) => n + Buffer.byteLength(m.data), 0)).toBeLessThanOrEqual(12_000);
  resumed.close();
});

test('When events share a millisecond, then resuming after one of them returns exactly the ones published after it, by identity', () => {
  const ev = (runId: string, seq: number, at: string): StreamEvent => ({
    id: `${Date.parse(at)}-${seq}-${runId}`,
    runId,
    status: 'Running',
    event: { seq, at, type: 'x', message: 'm' },
  });
  const t = '2026-01-01T00:00:00.000Z';
  // Publication order: run b's events interleave with run a's, all in one millisecond, and one later event of run c
  // published before an earlier one of run a.
  const published = [ev('a', 1, t), ev('b', 1, t), ev('a', 2, t), ev('b', 2, t), ev('c', 1, '2026-01-01T00:00:00.005Z'), ev('a', 3, '2026-01-01T00:00:00.001Z')];
  expect(publishedAfter(published, published[1].id)!.map((e) => e.id)).toEqual(published.slice(2).map((e) => e.id));
  expect(publishedAfter(published, published[4].id)!.map((e) => e.id)).toEqual([published[5].id]);
  expect(publishedAfter(published, 'unknown')).toBeUndefined();
});

test('When a client reconnects to the same replica, then it gets exactly what it missed in publication order, no gap and no duplicate', async () => {
  const auth = { authorization: `Bearer ${KEYS[0]}` };
  const live = await openSse(`${api.web.url}/api/events`, auth);
  streams.push(live);
  const runIds = (await Promise.all([0, 1, 2, 3].map((i) => fetch(`${api.web.url}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task: `Resume exact ${i}` }) }).then((r) => r.json())))).map((j: any) => j.id);
  await live.waitFor((m) => m.event === 'run-event' && runIds.includes(JSON.parse(m.data).runId) && JSON.parse(m.data).type === 'run.done', 30_000);
  await eventually(async () => runIds.every((id) => live.messages.some((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done')), 30_000);
  live.close();
  const got = live.messages.filter((m) => m.event === 'run-event');
  // Resume 20 events before the end (within MC_SSE_CATCHUP_MAX_EVENTS, so nothing is cut).
  expect(got.length).toBeGreaterThan(40);
  const cutAt = got.length - 21;
  const resumed = await openSse(`${api.web.url}/api/events`, { ...auth, 'last-event-id': got[cutAt].id! });
  streams.push(resumed);
  await eventually(async () => resumed.messages.filter((m) => m.event === 'run-event').length >= got.length - cutAt - 1, 10_000);
  await sleep(300);
  expect(resumed.messages.filter((m) => m.event === 'run-event').map((m) => m.id)).toEqual(got.slice(cutAt + 1).map((m) => m.id));
  expect(resumed.messages.some((m) => m.event === 'catchup-truncated')).toBe(false);
  resumed.close();
});
