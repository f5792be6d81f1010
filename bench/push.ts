/**
 * Push latency: from a stage transition in the workflow to the SSE event at a client, through the real API
 * (history long-poll → query → SSE), with the worker and API in one process on one dev server.
 *
 *   npm run bench:push -- [--runs 20] [--delay 200]
 *
 * Each RunEvent carries `at`, the workflow's own time of the transition (the start of the workflow task that
 * made it); the client notes when the event arrives. Latency = arrival - at, for every stage.started /
 * stage.completed / run.* event of `--runs` runs executed one after another (offline model, `--delay` ms a call).
 * The seed this replaces polled every second: its latency was up to 1000 ms by construction.
 */
import { randomUUID } from 'node:crypto';
import { openSse } from '../test/helpers/sse';
import { startTestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

async function main() {
  const runs = arg('runs', 20);
  const delay = arg('delay', 200);
  const env = await createTestEnv();
  const key = `bench-${randomUUID()}`;
  const api = await startTestApi(env, { MC_OFFLINE_DELAY_MS: String(delay), MC_API_KEYS: key });
  const { web } = api;
  const auth = { authorization: `Bearer ${key}` };

  const latencies: number[] = [];
  const byType: Record<string, number[]> = {};
  {
    const stream = await openSse(`${web.url}/api/events`, auth);
    for (let i = 0; i < runs; i++) {
      const res = await fetch(`${web.url}/api/runs`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task: `Push latency run ${i}` }) });
      const { id } = (await res.json()) as { id: string };
      await stream.waitFor((m) => m.event === 'run-event' && JSON.parse(m.data).runId === id && JSON.parse(m.data).type === 'run.done', 120_000);
      for (const m of stream.messages) {
        if (m.event !== 'run-event') continue;
        const e = JSON.parse(m.data);
        if (e.runId !== id || !(/^stage\./.test(e.type) || /^run\./.test(e.type))) continue;
        latencies.push(m.receivedAt - Date.parse(e.at));
        (byType[e.type] ??= []).push(m.receivedAt - Date.parse(e.at));
      }
    }
    stream.close();
  }
  await api.stop();
  await env.teardown();

  console.log(`\nPush latency, transition → SSE event at the client (${runs} runs, offline model ${delay} ms a call, ${latencies.length} events)`);
  console.log(`p50 ${percentile(latencies, 50)} ms   p95 ${percentile(latencies, 95)} ms   max ${Math.max(...latencies)} ms`);
  for (const [type, xs] of Object.entries(byType)) console.log(`  ${type.padEnd(16)} n=${String(xs.length).padEnd(4)} p50 ${percentile(xs, 50)} ms  p95 ${percentile(xs, 95)} ms`);
  console.log('(the 1-second polling this replaces: up to 1000 ms, ~500 ms on average)');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
