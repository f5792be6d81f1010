/**
 * Push latency: from a stage transition in the workflow to the SSE event at a client, through the real API
 * (history long-poll → state → SSE), with the worker and API in one process on one dev server.
 *
 *   npm run bench:push -- [--runs 20] [--delay 200] [--clients 100] [--poll 1000]
 *
 * Each RunEvent carries `at`, the workflow's own time of the transition (the start of the workflow task that
 * made it); a client notes when the event arrives. Latency = arrival - at, for every stage.* / run.* event.
 *
 * 1. One SSE client on `/api/events`, `--runs` runs one after another (offline model, `--delay` ms a call); side by
 *    side on the same runs, a client that polls `GET /api/runs/:id` every `--poll` ms (what the seed did) and notes
 *    when each event first shows.
 * 2. `--clients` SSE clients at once on `/api/events` (0: skipped), `--runs` further runs: latency at every client
 *    of every event, so the fan-out to many clients is in the figure.
 *
 * Clients, API and worker share this process (and the machine's cores): the figures include their CPU.
 * The last line of output is a JSON summary (read by `npm run bench`).
 */
import { randomUUID } from 'node:crypto';
import { openSse, SseClient, SseMessage } from '../test/helpers/sse';
import { startTestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { temporal } from '@temporalio/proto';
import { loadAverage } from './cpu';
import { intArg, runMain } from './harness';


const arg = (name: string, fallback: number) => intArg(name, fallback, 0);

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const stats = (xs: number[]) => ({ n: xs.length, p50: percentile(xs, 50), p95: percentile(xs, 95), max: xs.length ? Math.max(...xs) : NaN });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counted = (type: string) => /^stage\./.test(type) || /^run\./.test(type);

interface PushedEvent {
  runId: string;
  type: string;
  at: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;
const eventMs = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/**
 * When each workflow task of a run completed, keyed by when it started: a RunEvent's `at` is the workflow time of
 * the task that made it (its start), and the event can be seen by anyone only once that task has completed.
 */
function taskCompletions(events: HistoryEvent[]): Map<number, number> {
  const started = new Map<number, number>();
  const out = new Map<number, number>();
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) started.set(Number(e.eventId), eventMs(e));
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      const at = started.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
      if (at !== undefined) out.set(at, eventMs(e));
    }
  }
  return out;
}

/** The latencies of `runId`'s events among a stream's messages. */
function latenciesOf(messages: SseMessage[], runId: string, into: number[], byType?: Record<string, number[]>): void {
  for (const m of messages) {
    if (m.event !== 'run-event') continue;
    const e = JSON.parse(m.data) as PushedEvent;
    if (e.runId !== runId || !counted(e.type)) continue;
    const ms = m.receivedAt - Date.parse(e.at);
    into.push(ms);
    if (byType) (byType[e.type] ??= []).push(ms);
  }
}

async function main() {
  const runs = arg('runs', 20);
  const delay = arg('delay', 200);
  const clients = arg('clients', 100);
  const pollMs = arg('poll', 1000);
  const loadBefore = loadAverage();
  const env = await createTestEnv();
  const key = `bench-${randomUUID()}`;
  // One key holds every stream here: allow as many as the bench opens (MC_SSE_MAX_PER_KEY, default 20).
  const api = await startTestApi(env, { MC_OFFLINE_DELAY_MS: String(delay), MC_API_KEYS: key, MC_SSE_MAX_PER_KEY: String(clients + 10) });
  const { web } = api;
  const auth = { authorization: `Bearer ${key}` };
  const startRun = async (task: string) => {
    const res = await fetch(`${web.url}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task }) });
    if (res.status !== 201) throw new Error(`start: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  };
  const isDone = (id: string) => (m: SseMessage) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done';

  /** A client that asks for the run every `pollMs` and notes when each event first shows. */
  const poll = async (id: string, into: number[], stop: () => boolean) => {
    const seen = new Set<number>();
    for (;;) {
      const res = await fetch(`${web.url}/api/runs/${id}`, { headers: auth });
      const seenAt = Date.now();
      if (res.ok) {
        const view = (await res.json()) as { status: string; events?: { seq: number; type: string; at: string }[] };
        for (const e of view.events ?? []) {
          if (seen.has(e.seq) || !counted(e.type)) continue;
          seen.add(e.seq);
          into.push(seenAt - Date.parse(e.at));
        }
        if (view.status === 'Done' || view.status === 'Failed' || view.status === 'Cancelled') return;
      }
      if (stop()) return;
      await sleep(pollMs);
    }
  };

  // 1. One SSE client, and a polling client on the same runs.
  const one: number[] = [];
  const byType: Record<string, number[]> = {};
  const polled: number[] = [];
  const hops = { task: [] as number[], push: [] as number[] };
  {
    const stream = await openSse(`${web.url}/api/events`, auth);
    for (let i = 0; i < runs; i++) {
      const id = await startRun(`Push latency run ${i}`);
      let finished = false;
      // The poller starts at a random phase of its period, as a page opened at any moment would.
      const poller = sleep(Math.floor(Math.random() * pollMs)).then(() => poll(id, polled, () => finished));
      await stream.waitFor(isDone(id), 120_000);
      finished = true;
      await poller;
      latenciesOf(stream.messages, id, one, byType);
      // The two hops of each event: the workflow task that made it (start → completed, in the server's history),
      // then completed → at the client (history long-poll, reading the state, SSE).
      const completions = taskCompletions((await env.client.workflow.getHandle(id).fetchHistory()).events ?? []);
      for (const m of stream.messages) {
        if (m.event !== 'run-event') continue;
        const e = JSON.parse(m.data) as PushedEvent;
        const done = completions.get(Date.parse(e.at));
        if (e.runId !== id || !counted(e.type) || done === undefined) continue;
        hops.task.push(done - Date.parse(e.at));
        hops.push.push(m.receivedAt - done);
      }
    }
    stream.close();
  }

  // 2. Many SSE clients at once.
  const many: number[] = [];
  if (clients > 0) {
    const streams: SseClient[] = [];
    for (let c = 0; c < clients; c++) streams.push(await openSse(`${web.url}/api/events`, auth));
    const refused = streams.filter((s) => s.status !== 200).length;
    if (refused) throw new Error(`${refused} of ${clients} SSE clients were refused (status ${streams.find((s) => s.status !== 200)!.status})`);
    for (let i = 0; i < runs; i++) {
      const id = await startRun(`Push fan-out run ${i}`);
      await Promise.all(streams.map((s) => s.waitFor(isDone(id), 120_000)));
      for (const s of streams) latenciesOf(s.messages, id, many);
      for (const s of streams) s.messages.length = 0;
    }
    for (const s of streams) s.close();
  }
  await api.stop();
  await env.teardown();
  const loadAfter = loadAverage();

  const o = stats(one);
  const m = stats(many);
  const p = stats(polled);
  console.log(`\nPush latency, transition → event at the client (${runs} runs per part, offline model ${delay} ms a call; load average before ${loadBefore}, after ${loadAfter})`);
  console.log(`one SSE client:          n=${o.n}  p50 ${o.p50} ms   p95 ${o.p95} ms   max ${o.max} ms`);
  for (const [type, xs] of Object.entries(byType)) console.log(`  ${type.padEnd(16)} n=${String(xs.length).padEnd(4)} p50 ${percentile(xs, 50)} ms  p95 ${percentile(xs, 95)} ms`);
  console.log(`  of which the workflow task (start → completed): p50 ${percentile(hops.task, 50)} ms, p95 ${percentile(hops.task, 95)} ms; completed → client: p50 ${percentile(hops.push, 50)} ms, p95 ${percentile(hops.push, 95)} ms (n=${hops.push.length})`);
  console.log(`polling every ${pollMs} ms (same runs): n=${p.n}  p50 ${p.p50} ms   p95 ${p.p95} ms   max ${p.max} ms`);
  if (clients > 0) console.log(`${clients} SSE clients at once: n=${m.n}  p50 ${m.p50} ms   p95 ${m.p95} ms   max ${m.max} ms`);
  console.log(JSON.stringify({ bench: 'push', runs, delay, clients, pollMs, loadBefore, loadAfter, one: o, polling: p, many: m, hops: { task: stats(hops.task), push: stats(hops.push) }, byType: Object.fromEntries(Object.entries(byType).map(([k, xs]) => [k, stats(xs)])) }));
}

runMain(main);
