/**
 * `npm run bench`: the short form of every benchmark, one after another (each in its own process, with its own
 * dev server), and one table with each figure beside its target and the machine's load average while it ran.
 *
 *   npm run bench                       # all benches, short forms; exits 0 whatever the figures
 *   npm run bench -- --strict           # exits 1 when a figure misses its target (or a bench fails)
 *   npm run bench -- --only overhead,dag
 *
 * Each bench prints, as its last line of output, a JSON summary that this command reads; their own output goes to
 * stderr here, so the table on stdout stays clean. The short forms are smaller than the figures in
 * docs/benchmarks.md (which gives the full commands): they are for a quick look on a developer machine.
 */
import { spawn } from 'node:child_process';
import { loadAverage } from './cpu';

interface Row {
  bench: string;
  measure: string;
  value: string;
  target: string;
  /** undefined: no target (a figure shown for reference). */
  met?: boolean;
}

interface Bench {
  name: string;
  script: string;
  args: string[];
  node?: string[];
  rows(result: Record<string, any>): Row[];
}

const fmt = (n: number | undefined, digits = 2) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits));

const BENCHES: Bench[] = [
  {
    name: 'overhead',
    script: 'bench/overhead.ts',
    args: ['--sequential', '10', '--concurrent', '200', '--rounds', '2'],
    rows: (r) => [
      { bench: 'overhead', measure: `latency p50, robot / bare (${fmt(r.robot.p50, 0)} / ${fmt(r.bare.p50, 0)} ms)`, value: fmt(r.latencyRatio), target: '≤ 1.05', met: r.latencyRatio <= 1.05 },
      {
        bench: 'overhead',
        measure: `throughput, ${r.concurrent} at once, robot / bare (${fmt(r.robot.tput, 1)} / ${fmt(r.bare.tput, 1)} runs/s)`,
        value: fmt(r.throughputRatio),
        target: '≥ 0.85',
        met: r.throughputRatio >= 0.85,
      },
      {
        bench: 'overhead',
        measure: 'CPU ms a run, robot / bare: worker + client; dev server',
        value: `${fmt(r.robot.cpuSelf, 0)} / ${fmt(r.bare.cpuSelf, 0)}; ${fmt(r.robot.cpuServer, 0)} / ${fmt(r.bare.cpuServer, 0)}`,
        target: '—',
      },
    ],
  },
  {
    name: 'push',
    script: 'bench/push.ts',
    args: ['--runs', '5', '--clients', '100'],
    rows: (r) => [
      { bench: 'push', measure: `one SSE client, transition → event, p95 (p50 ${r.one.p50} ms, ${r.one.n} events)`, value: `${r.one.p95} ms`, target: '≤ 50 ms', met: r.one.p95 <= 50 },
      {
        bench: 'push',
        measure: `${r.clients} SSE clients at once, p95 (p50 ${r.many.p50} ms)`,
        value: `${r.many.p95} ms`,
        target: `≤ 2 × one client (${2 * r.one.p95} ms)`,
        met: r.many.p95 <= 2 * r.one.p95,
      },
      { bench: 'push', measure: `1-second polling client, same runs, p95 (p50 ${r.polling.p50} ms)`, value: `${r.polling.p95} ms`, target: '—' },
    ],
  },
  {
    name: 'parked',
    script: 'bench/parked.ts',
    node: ['--expose-gc'],
    args: ['500', '--cache', '100', '--concurrency', '50'],
    rows: (r) => [
      { bench: 'parked', measure: `${r.n} runs parked: worker RSS (idle ${fmt(r.rssIdle / 2 ** 20, 0)} MB)`, value: `${fmt(r.rssParked / 2 ** 20, 0)} MB`, target: '< 1024 MB', met: r.rssParked < 2 ** 30 },
      { bench: 'parked', measure: `all ${r.n} approved to Done`, value: `${r.done}/${r.n}`, target: 'all', met: r.done === r.n },
      { bench: 'parked', measure: 'park all; approve all → Done', value: `${fmt(r.parkSeconds, 1)} s; ${fmt(r.doneSeconds, 1)} s`, target: '—' },
    ],
  },
  {
    name: 'dag',
    script: 'bench/dag.ts',
    args: ['--nodes', '50', '--graphs', '3', '--seed', '1'],
    rows: (r) => [
      { bench: 'dag', measure: `${r.nodes}-node graphs (${r.graphs}): makespan / critical path, mean`, value: fmt(r.mean, 3), target: '≤ 1.02', met: r.mean <= 1.02 },
      { bench: 'dag', measure: `${r.nodes}-node graphs: worst`, value: fmt(r.worst, 3), target: '≤ 1.04', met: r.worst <= 1.04 },
      { bench: 'dag', measure: 'the same graphs in a bare workflow (one sleeping activity a node), mean', value: fmt(r.bareMean, 3), target: '—' },
    ],
  },
  {
    name: 'dag200',
    script: 'bench/dag.ts',
    args: ['--nodes', '200', '--graphs', '1', '--seed', '1'],
    rows: (r) => [{ bench: 'dag', measure: `${r.nodes}-node graph: makespan / critical path`, value: fmt(r.worst, 3), target: '≤ 1.05', met: r.worst <= 1.05 }],
  },
  {
    name: 'page',
    script: 'bench/page-weight.ts',
    args: [],
    rows: (r) => [
      { bench: 'page', measure: `the board, first load (${r.board.files} files, as served ${fmt(r.board.bytes / 1024, 1)} KiB)`, value: `${fmt(r.board.gzip / 1024, 1)} KiB gzip`, target: '—' },
    ],
  },
];

/** Run one bench; resolves with its JSON summary (its last JSON line), or the reason it gave none. */
function runBench(b: Bench): Promise<{ result?: Record<string, any>; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...(b.node ?? []), '--import', 'tsx', b.script, ...b.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      process.stderr.write(d);
    });
    child.on('close', (code) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{') && l.includes('"bench"'));
      if (line) return resolve({ result: JSON.parse(line) });
      resolve({ error: `exited ${code} without a summary` });
    });
  });
}

async function main() {
  const strict = process.argv.includes('--strict');
  const i = process.argv.indexOf('--only');
  const only = i > 0 ? process.argv[i + 1].split(',') : undefined;
  const chosen = BENCHES.filter((b) => !only || only.includes(b.name));
  const rows: (Row & { load: string })[] = [];
  const started = new Date();
  for (const b of chosen) {
    process.stderr.write(`\n=== ${b.name}: node --import tsx ${b.script} ${b.args.join(' ')}\n`);
    const before = loadAverage().split(' ')[0];
    const { result, error } = await runBench(b);
    const load = `${before} → ${loadAverage().split(' ')[0]}`;
    if (!result) rows.push({ bench: b.name, measure: 'did not finish', value: error ?? 'failed', target: '—', met: false, load });
    else for (const r of b.rows(result)) rows.push({ ...r, load });
  }
  console.log(`\nBenchmarks, short forms (${started.toISOString()}; ${require('node:os').cpus().length} cores; load average: 1-minute, before → after each bench)\n`);
  console.log('| bench | measure | figure | target | met | load |');
  console.log('|---|---|---:|---|---|---|');
  for (const r of rows) console.log(`| ${r.bench} | ${r.measure} | ${r.value} | ${r.target} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} | ${r.load} |`);
  const missed = rows.filter((r) => r.met === false);
  if (missed.length) console.log(`\n${missed.length} figure(s) missed their target${strict ? '' : ' (reported only; --strict makes this fail)'}.`);
  if (strict && missed.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
