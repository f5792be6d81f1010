/**
 * bench/dag.ts — start-when-ready vs waves on random task graphs.
 *
 * For each seed: a random DAG (default 50 nodes, skewed durations: most nodes short, a few long) is supplied to
 * a robot run on a real Temporal dev server + worker, its nodes answered by the offline model with each node's
 * `simulatedLatencyMs`. From the run state's node timestamps we measure the graph's makespan (first node start
 * to last node finish) and compare it with
 *   - the critical path of the same durations (the lower bound of any executor): target ratio ≤ 1.05;
 *   - the makespan wave execution would have on the same durations, COMPUTED (not run): each wave waits for its
 *     slowest node, with unlimited parallelism and zero overhead — the wave executor's best case.
 * Per-node validation is off (one model call per node), so the figures measure scheduling, not extra calls.
 * Beside each robot run, the same graph runs in the plainest workflow (bench/workflows.ts, bareDagWorkflow: one
 * sleeping activity per node, started when its dependencies are done) on the same worker: the ratio bare Temporal
 * reaches on this machine, side by side.
 *
 * Usage: node --import tsx bench/dag.ts [--nodes 50] [--graphs 5] [--seed 1] [--no-eager]   (--nodes up to 200)
 * The last line of output is a JSON summary (read by `npm run bench`), with the overhead a level: (makespan −
 * critical path) / levels, what a deep graph pays per level for each node's round trip.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config';
import { bareDagWorkflow, robotRunWorkflow } from './workflows';
import { criticalPath, DagNodeSpec, levels, waveMakespan } from '../contracts/dag';
import { createTestEnv } from '../testkit/temporal';
import { loadAverage } from './cpu';
import { benchWorker } from './harness';
import { temporal } from '@temporalio/proto';
import type { HistoryEvent } from '../testkit/history-profile';

const { EventType } = temporal.api.enums.v1;
const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);

/** Where a node's round trip goes, in ms summed over the graph's node activities (from the run's history). */
export interface Hops {
  nodes: number;
  /** Scheduled → started: the activity task's way to the worker. */
  queue: number;
  /** Started → completed, less the node's planned latency: the activity's own work around its model call. */
  activity: number;
  /** Completed → the workflow task that saw it started on the worker: the way back. */
  back: number;
  /** That workflow task, started → completed: the workflow's decision on the worker (and its report). */
  decision: number;
}

export function hopsOf(events: HistoryEvent[], planned: Map<string, number>): Hops {
  const scheduled = new Map<string, { at: number; node?: string }>();
  const started = new Map<string, number>();
  const h: Hops = { nodes: 0, queue: 0, activity: 0, back: 0, decision: 0 };
  let waiting: { at: number; started?: number }[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const a = e.activityTaskScheduledEventAttributes!;
      if (a.activityType?.name !== 'runDagNode') continue;
      const input = JSON.parse(Buffer.from(a.input?.payloads?.[0]?.data ?? []).toString() || '{}') as { node?: { id?: string } };
      scheduled.set(id, { at: at(e), node: input.node?.id });
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId));
      if (s) started.set(String(e.activityTaskStartedEventAttributes!.scheduledEventId), at(e));
    } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const key = String(e.activityTaskCompletedEventAttributes!.scheduledEventId);
      const s = scheduled.get(key);
      const st = started.get(key);
      if (!s || st === undefined) continue;
      h.nodes++;
      h.queue += st - s.at;
      h.activity += at(e) - st - (planned.get(s.node ?? '') ?? 0);
      waiting.push({ at: at(e) });
    } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      for (const w of waiting) w.started ??= at(e);
    } else if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      for (const w of waiting) {
        const started = w.started ?? at(e);
        h.back += started - w.at;
        h.decision += at(e) - started;
      }
      waiting = [];
    }
  }
  return h;
}

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

/** Small seeded PRNG (mulberry32): the same seed gives the same graphs on every machine. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random DAG: node i depends on 0-3 earlier nodes, mostly recent ones (so the graph has depth). Durations are
 * skewed: 80% short (100-400 ms), 20% long (1.5-3 s) — the case where waves lose most.
 */
export function randomDag(n: number, seed: number): DagNodeSpec[] {
  const r = rng(seed);
  const nodes: DagNodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const want = i === 0 ? 0 : Math.floor(r() * 4);
    for (let k = 0; k < want; k++) deps.add(`n${Math.max(0, i - 1 - Math.floor(r() * Math.min(i, 8)))}`);
    const long = r() < 0.2;
    const ms = Math.round(long ? 1500 + r() * 1500 : 100 + r() * 300);
    nodes.push({
      id: `n${i}`,
      title: `Node ${i}`,
      instructions: `Work ${i}`,
      kind: 'text',
      dependsOn: [...deps],
      expectedOutput: `Output ${i}`,
      simulatedLatencyMs: ms,
    });
  }
  return nodes;
}

async function main() {
  const nodesPerGraph = arg('nodes', 50);
  const graphs = arg('graphs', 5);
  const seed0 = arg('seed', 1);
  const env = await createTestEnv(
    // Eager activity dispatch: a node scheduled by a workflow task starts on the same worker without a trip
    // through the task queue (the SDK asks for it by default; the server must allow it).
    process.argv.includes('--no-eager') ? [] : ['--dynamic-config-value', 'system.enableActivityEagerExecution=true'],
  );
  const config = loadConfig({
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    MC_TASK_QUEUE: `bench-dag-${randomUUID()}`,
    MC_MODEL_PROVIDER: 'offline',
    MC_OFFLINE_DELAY_MS: '0',
    MC_DAG_MAX_NODES: '200',
    MC_SHUTDOWN_GRACE_SECONDS: '1',
  });
  const worker = await benchWorker(env, config);
  const rows: { seed: number; depth: number; cp: number; measuredCp: number; makespan: number; bareMakespan: number; wave: number; hops: Hops }[] = [];
  await worker.runUntil(async () => {
    for (let g = 0; g < graphs; g++) {
      const seed = seed0 + g;
      const dag = randomDag(nodesPerGraph, seed);
      const planned = new Map(dag.map((d) => [d.id, d.simulatedLatencyMs ?? 0]));
      const workflowId = `bench-dag-${seed}-${randomUUID()}`;
      const state = await env.client.workflow.execute(robotRunWorkflow, {
        taskQueue: config.MC_TASK_QUEUE,
        workflowId,
        args: [
          {
            task: `bench graph ${seed}`,
            robot: { id: 'bench', name: 'Bench', role: 'Benchmark', version: 0 },
            trigger: 'api',
            dag,
            options: { dagParallelism: nodesPerGraph, validateNodes: false },
          },
        ],
      });
      if (state.status !== 'Done') throw new Error(`graph ${seed} ended ${state.status}`);
      const nodes = state.dag!.nodes;
      const start = Math.min(...nodes.map((n) => Date.parse(n.startedAt!)));
      const end = Math.max(...nodes.map((n) => Date.parse(n.finishedAt!)));
      const measured = new Map(nodes.map((n) => [n.id, n.durationMs ?? 0]));
      const bare = Object.values(
        await env.client.workflow.execute(bareDagWorkflow, {
          taskQueue: config.MC_TASK_QUEUE,
          workflowId: `bench-bare-dag-${seed}-${randomUUID()}`,
          args: [dag.map((d) => ({ id: d.id, dependsOn: d.dependsOn ?? [], ms: planned.get(d.id)! }))],
        }),
      );
      rows.push({
        seed,
        depth: Math.max(...levels(dag).values()) + 1,
        cp: criticalPath(dag, (id) => planned.get(id)!),
        measuredCp: criticalPath(dag, (id) => measured.get(id)!),
        makespan: end - start,
        bareMakespan: Math.max(...bare.map((t) => t.finishedAt)) - Math.min(...bare.map((t) => t.startedAt)),
        wave: waveMakespan(dag, (id) => planned.get(id)!),
        hops: hopsOf((await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [], planned),
      });
      const r = rows.at(-1)!;
      const per = (v: number) => (v / r.hops.nodes).toFixed(1);
      console.log(
        `seed ${seed}: ${nodesPerGraph} nodes, ${r.depth} levels | critical path ${r.cp} ms | makespan ${r.makespan} ms → ratio ${(r.makespan / r.cp).toFixed(3)} ` +
          `(vs measured node durations ${(r.makespan / r.measuredCp).toFixed(3)}; overhead ${((r.makespan - r.cp) / r.depth).toFixed(1)} ms a level) | bare workflow ${(r.bareMakespan / r.cp).toFixed(3)} | waves ${r.wave} ms → ${(r.wave / r.cp).toFixed(3)}\n` +
          `  a node's round trip, mean ms: to the worker ${per(r.hops.queue)}, activity beyond its latency ${per(r.hops.activity)}, back to the workflow ${per(r.hops.back)}, its decision ${per(r.hops.decision)}`,
      );
    }
  });
  const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
  const worst = Math.max(...rows.map((r) => r.makespan / r.cp));
  console.log(
    `\nAll ${rows.length} graphs: makespan / critical path = ${(sum((r) => r.makespan) / sum((r) => r.cp)).toFixed(3)} (worst ${worst.toFixed(3)}; targets: 50 nodes mean ≤ 1.02 and worst ≤ 1.04, 200 nodes ≤ 1.05); ` +
      `wave execution (computed, same durations) = ${(sum((r) => r.wave) / sum((r) => r.cp)).toFixed(3)}`,
  );
  const mean = sum((r) => r.makespan) / sum((r) => r.cp);
  const bareMean = sum((r) => r.bareMakespan) / sum((r) => r.cp);
  console.log(`The same graphs in a bare workflow (one sleeping activity a node): makespan / critical path = ${bareMean.toFixed(3)}, ${((sum((r) => r.bareMakespan) - sum((r) => r.cp)) / sum((r) => r.depth)).toFixed(1)} ms a level`);
  // What each level of the graph costs beyond its planned durations: the per-hop overhead a deep graph pays per level.
  const perLevelMs = (sum((r) => r.makespan) - sum((r) => r.cp)) / sum((r) => r.depth);
  console.log(`Overhead a level (makespan − critical path, over all levels): ${perLevelMs.toFixed(1)} ms; load average ${loadAverage()}`);
  const hopNodes = sum((r) => r.hops.nodes);
  const hopMean = (k: 'queue' | 'activity' | 'back' | 'decision') => sum((r) => r.hops[k]) / hopNodes;
  console.log(
    `A node's round trip over all graphs (mean ms): to the worker ${hopMean('queue').toFixed(1)}, activity beyond its latency ${hopMean('activity').toFixed(1)}, back to the workflow ${hopMean('back').toFixed(1)}, its decision ${hopMean('decision').toFixed(1)}`,
  );
  console.log(JSON.stringify({ bench: 'dag', nodes: nodesPerGraph, graphs: rows.length, mean, worst, bareMean, perLevelMs, rows }));
  await env.teardown();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
