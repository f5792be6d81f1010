/**
 * Orchestration overhead: a robot run on the zero-latency offline model vs a bare workflow with the same number
 * of no-op activities (counted from a robot run's history: the stage activities, the task graph's plan, node and
 * check activities, and the delivery step), on the same dev server and the same worker, side by side in one process.
 *
 *   npm run bench:overhead -- [--sequential 40] [--concurrent 200]
 *
 * Latency: runs one at a time, the two kinds interleaved (p50/p95 of start → result).
 * Throughput: `--concurrent` runs of one kind started at once, completed runs per second; each kind in turn, best
 * of `--rounds` rounds. Beside each throughput round: the CPU seconds per run of this process (worker + client) and
 * of the dev server, which say where a kind spends more than the other even on a machine shared with other work.
 *
 * The worker is the production one (workers/worker.ts, with its configuration: MC_MAX_CONCURRENT_WORKFLOW_TASKS
 * and the other MC_* tuning variables apply), with the bench's workflows and a no-op activity added.
 * The last line of output is a JSON summary (read by `npm run bench`).
 */
import { randomUUID } from 'node:crypto';
import { cpuNow, cpuSince, loadAverage } from './cpu';
import { bareActivitiesWorkflow, robotRunWorkflow } from './workflows';
import { createTestEnv } from '../testkit/temporal';
import { BENCH_INPUT, benchWorker, intArg as arg, offlineBenchConfig, runMain } from './harness';


const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main() {
  const sequential = arg('sequential', 40);
  const concurrent = arg('concurrent', 200);
  const rounds = arg('rounds', 2);
  const loadBefore = loadAverage();
  const env = await createTestEnv();
  // MC_* tuning variables of the environment apply, as they would to a worker (e.g. MC_MAX_CONCURRENT_WORKFLOW_TASKS).
  const tuning = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MC_MAX_') || k.startsWith('MC_WORKER_'))) as Record<string, string>;
  const config = offlineBenchConfig(env, 'bench', tuning);
  const worker = await benchWorker(env, config);
  const input = BENCH_INPUT;
  let activityCount = 0;
  const kinds = {
    robot: () => env.client.workflow.execute(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `run-${randomUUID()}`, args: [input] }),
    bare: () => env.client.workflow.execute(bareActivitiesWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `bare-${randomUUID()}`, args: [activityCount] }),
  };

  const results = await worker.runUntil(async () => {
    // How many activities one robot run schedules: the baseline runs as many.
    const probe = await env.client.workflow.start(robotRunWorkflow, { taskQueue: config.MC_TASK_QUEUE, workflowId: `run-${randomUUID()}`, args: [input] });
    await probe.result();
    const history = await probe.fetchHistory();
    activityCount = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
    // Warm up both paths (bundle, caches, connections).
    for (let i = 0; i < 5; i++) await Promise.all([kinds.robot(), kinds.bare()]);
    const latency: Record<keyof typeof kinds, number[]> = { robot: [], bare: [] };
    for (let i = 0; i < sequential; i++) {
      for (const k of (i % 2 ? ['bare', 'robot'] : ['robot', 'bare']) as (keyof typeof kinds)[]) {
        const t = performance.now();
        await kinds[k]();
        latency[k].push(performance.now() - t);
      }
    }
    const throughput: Record<string, number> = {};
    const cpu: Record<string, { self: number; server: number }[]> = { robot: [], bare: [] };
    for (let round = 0; round < rounds; round++) {
      for (const k of ['bare', 'robot'] as (keyof typeof kinds)[]) {
        const t = performance.now();
        const c = cpuNow();
        await Promise.all(Array.from({ length: concurrent }, () => kinds[k]()));
        const rate = concurrent / ((performance.now() - t) / 1000);
        const used = cpuSince(c);
        cpu[k].push({ self: (used.self * 1000) / concurrent, server: ((used.server ?? NaN) * 1000) / concurrent });
        throughput[k] = Math.max(throughput[k] ?? 0, rate);
      }
    }
    return { latency, throughput, cpu };
  });
  await env.teardown();

  const row = (k: 'robot' | 'bare') => ({
    p50: percentile(results.latency[k], 50),
    p95: percentile(results.latency[k], 95),
    tput: results.throughput[k],
    // CPU ms per run, mean over the throughput rounds.
    cpuSelf: results.cpu[k].reduce((n, c) => n + c.self, 0) / results.cpu[k].length,
    cpuServer: results.cpu[k].reduce((n, c) => n + c.server, 0) / results.cpu[k].length,
  });
  const r = row('robot');
  const b = row('bare');
  const f = (n: number) => n.toFixed(1).padStart(8);
  const f2 = (n: number) => n.toFixed(2).padStart(8);
  const loadAfter = loadAverage();
  console.log(`\nOrchestration overhead (${activityCount} activities a run; sequential=${sequential} each, concurrent=${concurrent}; best of ${rounds} throughput rounds)`);
  console.log(`load average before ${loadBefore}, after ${loadAfter}; workflow task slots ${config.MC_MAX_CONCURRENT_WORKFLOW_TASKS}, cache ${config.MC_MAX_CACHED_WORKFLOWS}`);
  console.log('                          p50 ms   p95 ms   runs/s  CPU ms/run: worker+client  dev server');
  console.log(`robot run (offline, 0ms) ${f(r.p50)} ${f(r.p95)} ${f(r.tput)} ${f(r.cpuSelf)}               ${f(r.cpuServer)}`);
  console.log(`bare ${String(activityCount).padEnd(2)} no-op activities ${f(b.p50)} ${f(b.p95)} ${f(b.tput)} ${f(b.cpuSelf)}               ${f(b.cpuServer)}`);
  console.log(`ratio robot/bare         ${f2(r.p50 / b.p50)} ${f2(r.p95 / b.p95)} ${f2(r.tput / b.tput)} ${f2(r.cpuSelf / b.cpuSelf)}               ${f2(r.cpuServer / b.cpuServer)}`);
  console.log(
    JSON.stringify({
      bench: 'overhead',
      activityCount,
      sequential,
      concurrent,
      loadBefore,
      loadAfter,
      robot: r,
      bare: b,
      latencyRatio: r.p50 / b.p50,
      throughputRatio: r.tput / b.tput,
    }),
  );
}

runMain(main);
