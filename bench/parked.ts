/**
 * Parked runs: N robot runs (offline model, zero latency) that stop at an approval gate before Delivery, held by
 * ONE worker whose sticky cache is bounded (maxCachedWorkflows). Measures the worker process's RSS before and
 * after all runs are parked, then approves them all (the `decide` update, bounded concurrency) and measures the
 * time until every run is Done.
 *
 *   npx tsx bench/parked.ts [N=2000] [--cache 200] [--concurrency 50] [--inflight 150]
 *
 * Starts are admitted so that at most `--inflight` runs are between their start and their gate at any time (by
 * default three quarters of the cache): thousands of runs started at once would all be in progress together, each
 * workflow task a cache miss that replays its history, and the park time would measure that thrashing rather than
 * what parking costs. Runs already parked take no slot.
 *
 * The worker runs in this process (one Node process: worker + client); RSS is process.memoryUsage().rss after a
 * forced GC when `--expose-gc` is available (run with NODE_OPTIONS=--expose-gc for steadier numbers).
 */
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { robotRunWorkflow } from '../workflows';
import { decideUpdate } from '../contracts/messages';
import type { RunInput } from '../contracts/run';
import { createRobotWorker } from '../workers/worker';
import { createTestEnv } from '../testkit/temporal';
import { intArg as flag, offlineBenchConfig, runMain } from './harness';


const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

/** Run `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function main() {
  const positional = process.argv.slice(2).find((a, i, all) => /^\d+$/.test(a) && !all[i - 1]?.startsWith('--'));
  const n = positional ? Number(positional) : 2000;
  const cache = flag('cache', 200);
  const concurrency = flag('concurrency', 50);
  const inflight = flag('inflight', Math.max(concurrency, Math.floor((cache * 3) / 4)));

  const env = await createTestEnv();
  const config = offlineBenchConfig(env, 'bench-parked', { MC_MAX_CACHED_WORKFLOWS: String(cache) });
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const worker = await createRobotWorker({ connection: env.nativeConnection, config, workflowBundle: { code } });
  const running = worker.run();
  await sleep(1000);
  const rssIdle = rss();

  const client = env.client;
  const count = async (status: string) =>
    (await client.workflow.count(`WorkflowType = 'robotRunWorkflow' AND McStatus = '${status}' AND TaskQueue = '${config.MC_TASK_QUEUE}'`)).count;
  const waitCount = async (status: string, label: string) => {
    for (;;) {
      const c = await count(status);
      process.stderr.write(`\r${label}: ${c}/${n}   `);
      if (c >= n) break;
      await sleep(1000);
    }
    process.stderr.write('\n');
  };

  const input: RunInput = {
    task: 'Benchmark: summarise three facts about durable execution',
    robot: { id: 'bench', name: 'Bench', role: 'Benchmark robot', version: 0 },
    trigger: 'api',
    approvals: { gates: [{ at: 'delivery' }] },
  };
  const ids = Array.from({ length: n }, () => `run-${randomUUID()}`);

  const t0 = Date.now();
  let started = 0;
  while (started < n) {
    const parked = await count('Review');
    process.stderr.write(`\rstarted ${started}, parked ${parked}/${n}   `);
    const room = Math.min(inflight - (started - parked), n - started, concurrency);
    if (room <= 0) {
      await sleep(250);
      continue;
    }
    const batch = ids.slice(started, started + room);
    started += batch.length;
    await Promise.all(batch.map((id) => client.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: id, args: [input] })));
  }
  process.stderr.write('\n');
  await waitCount('Review', 'parked');
  const parkSeconds = (Date.now() - t0) / 1000;
  await sleep(2000);
  const rssParked = rss();
  // Where the memory is: V8's heap (JS objects), or outside it (native: Temporal's core, buffers, the allocator).
  const parkedMemory = process.memoryUsage();

  const t1 = Date.now();
  await pool(ids, concurrency, (id) =>
    client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [{ gate: 'delivery', decision: 'approve', by: 'bench', channel: 'api' }] }),
  );
  const approvedSeconds = (Date.now() - t1) / 1000;
  await waitCount('Done', 'done');
  const doneSeconds = (Date.now() - t1) / 1000;
  const rssDone = rss();

  const rows: [string, string][] = [
    ['runs parked at a gate (N)', String(n)],
    ['worker sticky cache (maxCachedWorkflows)', String(cache)],
    ['runs between start and gate at once (at most)', String(inflight)],
    ['start + reach the gate, all N', `${parkSeconds.toFixed(1)} s`],
    ['worker RSS, idle before starting', mb(rssIdle)],
    ['worker RSS, all N parked', mb(rssParked)],
    ['RSS growth for N parked runs', `${mb(rssParked - rssIdle)} (${((rssParked - rssIdle) / n / 1024).toFixed(1)} KB/run)`],
    ['of the RSS parked: V8 heap used / external', `${mb(parkedMemory.heapUsed)} / ${mb(parkedMemory.external)}`],
    [`approve all (update, ${concurrency} in flight)`, `${approvedSeconds.toFixed(1)} s`],
    ['approve all → all Done', `${doneSeconds.toFixed(1)} s (${(n / doneSeconds).toFixed(0)} runs/s)`],
    ['worker RSS, all Done', mb(rssDone)],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n| ${'measure'.padEnd(width)} | value |\n|${'-'.repeat(width + 2)}|-------|`);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
  const done = await count('Done');
  console.log(JSON.stringify({ bench: 'parked', n, cache, concurrency, inflight, parkSeconds, rssIdle, rssParked, rssDone, heapUsedParked: parkedMemory.heapUsed, externalParked: parkedMemory.external, approvedSeconds, doneSeconds, done }));

  worker.shutdown();
  await running;
  await env.teardown();
}

runMain(main);
