/**
 * The Tasks stage as a task graph, against a real Temporal dev server: planning and repair, start-when-ready
 * execution, failure isolation, per-node cancel / retry / approval, desktops for command nodes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { robotRunWorkflow } from '../workflows';
import { approveNodeUpdate, cancelNodeUpdate, retryNodeUpdate, runStateQuery } from '../contracts/messages';
import type { DagNodeSpec, DagNodeState } from '../contracts/dag';
import type { RobotSnapshot, RunInput, RunState } from '../contracts/run';
import { createDesktopWorker } from '../workers/desktop';
import type { Config } from '../lib/config';
import { FakeLlm, pipelineResponder, startFakeLlm } from './helpers/fake-llm';
import { node } from '../testkit/dag';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

const robot: RobotSnapshot = { id: 'adhoc', name: 'Analyst', role: 'Research analyst', version: 0 };

let env: TestWorkflowEnvironment;
let llm: FakeLlm;
let config: Config;
let worker: Worker;
let workerDone: Promise<void>;
/** A local server on 127.0.0.2 (allow-listed for this file's worker) whose answers the tests script. */
let site: http.Server;
let siteUrl: string;
let siteStatus = 200;

const input = (task: string, dag: DagNodeSpec[] | undefined, extra: Partial<RunInput> = {}): RunInput => ({
  task,
  robot,
  trigger: 'api',
  dag,
  ...extra,
  options: { retryInitialIntervalMs: 100, ...extra.options },
});

const start = (args: RunInput, taskQueue = config.MC_TASK_QUEUE) =>
  env.client.workflow.start(robotRunWorkflow, { taskQueue, workflowId: `run-${randomUUID()}`, args: [args] });

const byId = (state: RunState) => Object.fromEntries((state.dag?.nodes ?? []).map((n) => [n.id, n])) as Record<string, DagNodeState>;

/** The reason a workflow update was rejected by its validator. */
async function updateError(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as Error).message;
}

async function nodeStatus(handle: WorkflowHandle<typeof robotRunWorkflow>, id: string, status: string) {
  return eventually(async () => {
    const s = await handle.query(runStateQuery);
    return byId(s)[id]?.status === status ? s : undefined;
  }, 20000, 50);
}

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder());
  site = http.createServer((req, res) => {
    res.writeHead(siteStatus, { 'content-type': 'text/plain' });
    res.end(siteStatus === 200 ? `page at ${req.url}` : 'not yet');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.2', resolve));
  siteUrl = `http://127.0.0.2:${(site.address() as AddressInfo).port}`;
  config = testConfig({ MC_FETCH_ALLOWLIST: '127.0.0.2/32' });
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await llm?.close();
  await new Promise((r) => site?.close(r));
  await env?.teardown();
});

describe('planning', () => {
  test('When the planner answers with a cycle, then the errors are fed back and the repaired graph runs to Done', async () => {
    let plans = 0;
    llm.setResponder(
      pipelineResponder((_call, stage) => {
        if (stage !== 'tasks.plan' || plans++ > 0) return undefined;
        return { content: JSON.stringify({ nodes: [node('a', ['b']), node('b', ['a'])] }) };
      }),
    );
    const cfg = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
    const w = await startTestWorker(env, cfg);
    const state = await w.runUntil(start(input(`Repair ${randomUUID()}`, undefined), cfg.MC_TASK_QUEUE).then((h) => h.result()));
    expect(state.status).toBe('Done');
    expect(state.dag?.plannerRepairs).toBe(1);
    expect(state.dag?.nodes.map((n) => n.id)).toEqual(['t1']);
    const planCalls = llm.calls.filter((c) => /Plan the goals as a DAG/.test(JSON.stringify(c.body.messages[0])));
    expect(planCalls).toHaveLength(2);
    expect(planCalls[1].prompt).toContain('dependency cycle: a → b → a');
  });

  test('When the planner keeps answering with a cycle, an unknown dependency and a duplicate id, then the run fails with each error named', async () => {
    const bad = { nodes: [node('a', ['b']), node('b', ['a']), node('c', ['ghost']), node('c')] };
    llm.setResponder(pipelineResponder((_call, stage) => (stage === 'tasks.plan' ? { content: JSON.stringify(bad) } : undefined)));
    const cfg = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl, MC_MODEL_MAX_REPAIRS: '1' });
    const w = await startTestWorker(env, cfg);
    const handle = await start(input(`Reject ${randomUUID()}`, undefined), cfg.MC_TASK_QUEUE);
    await w.runUntil(async () => {
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const state = await handle.query(runStateQuery);
      expect(state.status).toBe('Failed');
      expect(state.error).toMatchObject({ stage: 'tasks', type: 'InvalidPlan' });
      expect(state.error?.message).toContain('still invalid after 1 repair(s)');
      expect(state.error?.message).toContain('dependency cycle: a → b → a');
      expect(state.error?.message).toContain('node "c" depends on unknown node "ghost"');
      expect(state.error?.message).toContain('duplicate node id "c"');
    });
    llm.setResponder(pipelineResponder());
  });

  test('When the offline model plans, then the graph has one node per goal and a synthesis node that needs them all', async () => {
    const state = await start(input('Research the competitors and write a summary', undefined)).then((h) => h.result());
    expect(state.status).toBe('Done');
    const nodes = state.dag!.nodes;
    const synthesis = nodes.find((n) => n.kind === 'synthesize')!;
    expect(nodes.length).toBeGreaterThanOrEqual(2);
    expect(synthesis.dependsOn.sort()).toEqual(nodes.filter((n) => n !== synthesis).map((n) => n.id).sort());
    expect(synthesis.reason).toContain('synthesize → large tier');
    expect(state.dag!.result).toContain('[synthesis]');
  });
});

describe('execution', () => {
  test('When a valid 10-node graph with two independent branches runs, then it is Done with outputs flowing along the edges', async () => {
    const dag = [
      node('a1'),
      node('a2', ['a1'], { kind: 'extract' }),
      node('a3', ['a2']),
      node('a4', ['a3']),
      node('b1'),
      node('b2', ['b1'], { kind: 'vision' }),
      node('b3', ['b2']),
      node('b4', ['b3'], { modelHint: 'large' }),
      node('join', ['a4', 'b4'], { kind: 'synthesize' }),
      node('final', ['join'], { kind: 'synthesize' }),
    ];
    const routed: RobotSnapshot = { ...robot, routing: { kinds: { extract: { temperature: 0 } } } };
    const state = await start(input('Ten nodes', dag, { robot: routed })).then((h) => h.result());
    expect(state.status).toBe('Done');
    const n = byId(state);
    expect(Object.values(n).map((x) => x.status)).toEqual(new Array(10).fill('done'));
    // Each output names the dependency outputs it was given: the activity only learns them from its inputs.
    expect(n.a2.output).toContain('Built on [a1]');
    expect(n.b4.output).toContain('Built on [b3]');
    expect(n.join.output).toContain('[a4]');
    expect(n.join.output).toContain('[b4]');
    expect(n.a1.output).not.toContain('Built on');
    expect(state.dag!.result).toContain('[final]');
    // Routing: the choice and its reason per node.
    expect(n.a2.reason).toContain('robot override for extract → temperature 0');
    expect(n.b2.reason).toContain('vision → vision tier');
    expect(n.b4.reason).toContain('text → fast tier; planner hint → large tier');
    expect(n.join.reason).toContain('synthesize → large tier');
    // Usage, timings and validation per node; a rolling summary; the stage output for Validation and Delivery.
    for (const x of Object.values(n)) {
      expect(x.usage.calls).toBe(2);
      expect(x.model).toBe('offline-deterministic-1');
      expect(Date.parse(x.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(x.startedAt!));
      expect(x.validation).toEqual([{ round: 0, passed: true, feedback: 'Result present and on topic.' }]);
    }
    expect(state.dag!.summary).toMatch(/^10\/10 node\(s\) done\./);
    const tasks = state.stages.find((s) => s.name === 'tasks')!;
    expect((tasks.output as { tasks: unknown[] }).tasks).toHaveLength(10);
    expect(tasks.calls.length).toBe(20);
    expect(state.usage.calls).toBe(state.stages.reduce((sum, s) => sum + s.calls.length, 0));
  });

  test('When chains A(long)→B(short) and C(short)→D(long) run, then D starts before A finishes (no waves)', async () => {
    const dag = [
      node('A', [], { simulatedLatencyMs: 3000 }),
      node('B', ['A'], { simulatedLatencyMs: 50 }),
      node('C', [], { simulatedLatencyMs: 50 }),
      node('D', ['C'], { simulatedLatencyMs: 3000 }),
    ];
    const state = await start(input('Start when ready', dag)).then((h) => h.result());
    expect(state.status).toBe('Done');
    const n = byId(state);
    expect(Date.parse(n.D.startedAt!)).toBeGreaterThanOrEqual(Date.parse(n.C.finishedAt!));
    expect(Date.parse(n.D.startedAt!)).toBeLessThan(Date.parse(n.A.finishedAt!));
    expect(Date.parse(n.B.startedAt!)).toBeGreaterThanOrEqual(Date.parse(n.A.finishedAt!));
  });

  test('When the parallelism is 1, then no two nodes overlap', async () => {
    const dag = [node('p1', [], { simulatedLatencyMs: 200 }), node('p2', [], { simulatedLatencyMs: 200 }), node('p3', [], { simulatedLatencyMs: 200 })];
    const state = await start(input('One at a time', dag, { options: { dagParallelism: 1, validateNodes: false } })).then((h) => h.result());
    const spans = state.dag!.nodes.map((x) => [Date.parse(x.startedAt!), Date.parse(x.finishedAt!)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  });

  test('When a node fails, then only its dependants are skipped, the other branch finishes, and the default policy fails the stage', async () => {
    const dag = [
      node('fetch', [], { kind: 'tool', tool: 'http_fetch', args: { url: 'http://127.0.0.1:9/' } }),
      node('use', ['fetch']),
      node('after', ['use']),
      node('y1', [], { simulatedLatencyMs: 300 }),
      node('y2', ['y1']),
    ];
    const handle = await start(input('Isolate failures', dag));
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const state = await handle.query(runStateQuery);
    const n = byId(state);
    expect(n.fetch.status).toBe('failed');
    expect(n.fetch.error).toContain('127.0.0.1 is a loopback address');
    expect([n.use.status, n.after.status]).toEqual(['skipped', 'skipped']);
    expect(n.after.error).toContain('depends on use, which was skipped');
    expect([n.y1.status, n.y2.status]).toEqual(['done', 'done']);
    expect(state.status).toBe('Failed');
    expect(state.error).toMatchObject({ stage: 'tasks', type: 'NodeFailed' });

    const cont = await start(input('Continue past failures', dag, { options: { onNodeFailure: 'continue' } })).then((h) => h.result());
    expect(cont.status).toBe('Done');
    expect(byId(cont).use.status).toBe('skipped');
    expect(byId(cont).y2.status).toBe('done');
  });
});

describe('node validation', () => {
  test('When the validator rejects a node, then it re-runs with the feedback, bounded, and the verdicts are in the state', async () => {
    const task = `Validate ${randomUUID()}`;
    let verdicts = 0;
    llm.setResponder(
      pipelineResponder((call, stage) => {
        if (stage === 'tasks.plan') return { content: JSON.stringify({ nodes: [node('draft'), node('final', ['draft'])] }) };
        if (stage === 'tasks.validate' && call.prompt.includes('Task draft:') && verdicts++ === 0) {
          return { content: JSON.stringify({ passed: false, feedback: 'Cite at least two sources.' }) };
        }
        if (stage === 'tasks.validate' && call.prompt.includes('Task final:')) {
          return { content: JSON.stringify({ passed: false, feedback: 'Still too vague.' }) };
        }
        return undefined;
      }),
    );
    const cfg = testConfig({ MC_MODEL_PROVIDER: 'openai-compatible', OPENAI_BASE_URL: llm.openaiBaseUrl });
    const w = await startTestWorker(env, cfg);
    const state = await w.runUntil(start(input(task, undefined, { options: { maxNodeRevisions: 1 } }), cfg.MC_TASK_QUEUE).then((h) => h.result()));
    llm.setResponder(pipelineResponder());
    expect(state.status).toBe('Done');
    const n = byId(state);
    expect(n.draft.validation).toEqual([
      { round: 0, passed: false, feedback: 'Cite at least two sources.' },
      { round: 1, passed: true, feedback: 'ok' },
    ]);
    expect(n.draft.runs).toBe(2);
    // Bounded: one revision, then the node keeps its output with the failed verdict on record.
    expect(n.final.validation.map((v) => v.passed)).toEqual([false, false]);
    expect(n.final.status).toBe('done');
    const draftRuns = llm.calls.filter((c) => c.prompt.includes(task) && c.prompt.includes('This task: Step draft'));
    expect(draftRuns).toHaveLength(2);
    expect(draftRuns[1].prompt).toContain('A reviewer rejected your previous answer: Cite at least two sources.');
    // The Validation stage's report sees each node's own verdict.
    const stageCheck = llm.calls.find((c) => c.prompt.includes('Task draft (Step draft)') && /Check each result/.test(JSON.stringify(c.body.messages[0])))!;
    expect(stageCheck.prompt).toContain('Task final (Step final) — done, node check failed: Still too vague.');
  });
});

describe('run cancel', () => {
  test('When the run is cancelled while nodes run, then every unfinished node is cancelled and the run is Cancelled', async () => {
    const dag = [node('long1', [], { simulatedLatencyMs: 60_000 }), node('long2', [], { simulatedLatencyMs: 60_000 }), node('next', ['long1'])];
    const handle = await start(input('Cancel the graph', dag));
    await nodeStatus(handle, 'long2', 'running');
    await handle.cancel();
    const state = await eventually(async () => {
      const s = await handle.query(runStateQuery);
      return s.status === 'Cancelled' ? s : undefined;
    });
    expect(state.interruptedStage).toBe('tasks');
    expect(state.dag!.nodes.map((x) => x.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });
});

describe('per-node control', () => {
  test('When one running node is cancelled, then its dependants are skipped and its siblings run on to Done', async () => {
    const dag = [
      node('slow', [], { simulatedLatencyMs: 60_000 }),
      node('slowNext', ['slow']),
      node('sibling', [], { simulatedLatencyMs: 1500 }),
      node('siblingNext', ['sibling']),
    ];
    const handle = await start(input('Cancel one node', dag));
    await nodeStatus(handle, 'slow', 'running');
    const answer = await handle.executeUpdate(cancelNodeUpdate, { args: [{ nodeId: 'slow' }] });
    expect(answer).toEqual({ nodeId: 'slow', status: 'cancelled' });
    const during = byId(await handle.query(runStateQuery));
    expect(during.sibling.status).toBe('running');
    expect(await updateError(handle.executeUpdate(cancelNodeUpdate, { args: [{ nodeId: 'slow' }] }))).toBe('node "slow" is cancelled and cannot be cancelled');
    expect(await updateError(handle.executeUpdate(cancelNodeUpdate, { args: [{ nodeId: 'nope' }] }))).toBe('no node "nope" in this task graph');
    const state = await handle.result();
    expect(state.status).toBe('Done');
    const n = byId(state);
    expect([n.slow.status, n.slowNext.status, n.sibling.status, n.siblingNext.status]).toEqual(['cancelled', 'skipped', 'done', 'done']);
  });

  test('When a failed node is retried while the graph waits, then the run completes', async () => {
    siteStatus = 404;
    const dag = [
      node('page', [], { kind: 'tool', tool: 'http_fetch', args: { url: `${siteUrl}/report` } }),
      node('read', ['page'], { kind: 'extract' }),
      node('other', []),
    ];
    const handle = await start(input('Retry a node', dag, { options: { onNodeFailure: 'wait' } }));
    const waiting = await eventually(async () => {
      const s = await handle.query(runStateQuery);
      return s.dag?.awaitingRetry ? s : undefined;
    });
    expect(waiting.status).toBe('Review');
    expect(byId(waiting).page).toMatchObject({ status: 'failed' });
    expect(byId(waiting).page.error).toContain('HTTP 404');
    expect(byId(waiting).read.status).toBe('skipped');
    expect(await updateError(handle.executeUpdate(retryNodeUpdate, { args: [{ nodeId: 'other' }] }))).toBe('node "other" is done and cannot be retried');
    siteStatus = 200;
    expect(await handle.executeUpdate(retryNodeUpdate, { args: [{ nodeId: 'page' }] })).toEqual({ nodeId: 'page', status: 'pending' });
    const state = await handle.result();
    expect(state.status).toBe('Done');
    const n = byId(state);
    expect(n.page).toMatchObject({ status: 'done', runs: 2, model: 'tool:http_fetch' });
    expect(n.page.output).toContain('page at /report');
    expect(n.read.output).toContain('Built on [page]');
  });
});

describe('desktops', () => {
  const desktopRobot: RobotSnapshot = { ...robot, tools: ['http_fetch', 'command'] };
  const argv = [process.execPath, '-e', 'console.log("hello from " + process.argv.length)'];

  test('When a command node names a desktop, then it waits for approval and runs on that desktop only', async () => {
    const queues = [`desk-a-${randomUUID()}`, `desk-b-${randomUUID()}`];
    const desktops = await Promise.all(queues.map((queue) => createDesktopWorker({ connection: env.nativeConnection, config, queue })));
    const runs = desktops.map((d) => d.run());
    try {
      const dag = [
        node('cmdB', [], { kind: 'command', args: { argv }, worker: queues[1] }),
        node('cmdA', [], { kind: 'command', args: { argv }, worker: queues[0] }),
        node('report', ['cmdB', 'cmdA']),
      ];
      const handle = await start(input('Run commands', dag, { robot: desktopRobot }));
      const waiting = await nodeStatus(handle, 'cmdB', 'waiting');
      expect(waiting.status).toBe('Review');
      await handle.executeUpdate(approveNodeUpdate, { args: [{ nodeId: 'cmdA', decision: 'approve' }] });
      await nodeStatus(handle, 'cmdA', 'done');
      expect(byId(await handle.query(runStateQuery)).cmdB.status).toBe('waiting');
      await handle.executeUpdate(approveNodeUpdate, { args: [{ nodeId: 'cmdB', decision: 'approve' }] });
      const state = await handle.result();
      expect(state.status).toBe('Done');
      const n = byId(state);
      expect(n.cmdB.ranOn).toMatchObject({ queue: queues[1], exitCode: 0, pid: process.pid });
      expect(n.cmdA.ranOn).toMatchObject({ queue: queues[0], exitCode: 0 });
      expect(n.cmdB.output).toContain('hello from');
      expect(n.cmdB.approval?.decision).toBe('approve');
      expect(n.cmdB.reason).toContain(`queue ${queues[1]}`);
    } finally {
      desktops.forEach((d) => d.shutdown());
      await Promise.all(runs);
    }
  });

  test('When a robot without the command tool plans a command node, then the graph is refused', async () => {
    const dag = [node('cmd', [], { kind: 'command', args: { argv }, worker: 'anywhere' })];
    const handle = await start(input('No commands for you', dag));
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const state = await handle.query(runStateQuery);
    expect(state.error).toMatchObject({ stage: 'tasks', type: 'InvalidPlan' });
    expect(state.error?.message).toContain('uses tool "command", which robot "Analyst" may not use (allowed: http_fetch)');
  });
});
