/**
 * Records workflow histories for test/replay.test.ts, the determinism guard. Each scenario drives real runs on a
 * fresh Temporal dev server (offline model, a run worker, a desktop worker, a local site for http_fetch and
 * escalation webhooks) and the history of each of its runs is written to `<out>/<name>-<tag>.json`.
 *
 * Recorded histories are never rewritten: after a workflow change, record a new generation beside the old one with
 * a new tag, and commit it. The script refuses to start if any file it would write exists, and writes nothing
 * unless every chosen scenario recorded.
 *
 *   npm run record:histories -- --tag v2                      # every scenario → test/histories/<name>-v2.json
 *   npm run record:histories -- --tag v2 --only done,host     # a subset (names as listed by --help)
 *   npm run record:histories -- --tag check --out /tmp/hist   # somewhere else
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createTestEnv, eventually, testConfig } from '../testkit/temporal';
import { node } from '../testkit/dag';
import { chatConversationWorkflow, robotContinuousWorkflow, robotRunWorkflow, sessionRevocationsWorkflow } from '../workflows';

import type { ChatConversationInput, ChatInbound } from '../contracts/chat';
import {
  approveNodeUpdate,
  cancelNodeUpdate,
  decideUpdate,
  decisionSignal,
  hostConfirmUpdate,
  hostMessageUpdate,
  retryNodeUpdate,
  revokeSessionSignal,
  robotSlotsWorkflowId,
  runStateQuery,
  chatInboundSignal,
  chatConversationQuery,
} from '../contracts/messages';
import type { RunInput, RunState } from '../contracts/run';
import type { DagNodeSpec } from '../contracts/dag';
import type { DecisionInput } from '../contracts/gates';
import { createRobotWorker } from '../workers/worker';
import { createDesktopWorker } from '../workers/desktop';

/** What a scenario drives its runs with. */
export interface Harness {
  client: Client;
  /** Task queue of the run worker (for workflows other than runs). */
  taskQueue: string;
  /** Task queue of the desktop worker (for `command` nodes). */
  desktopQueue: string;
  /** Base URL of the local site (http_fetch targets, escalation webhooks); it answers with the status last set (404 at first). */
  siteUrl: string;
  setSiteStatus(status: number): void;
  /** Start a robotRunWorkflow on the run worker's task queue. */
  start(input: RunInput): Promise<WorkflowHandle<typeof robotRunWorkflow>>;
  /** Start a robotContinuousWorkflow on the run worker's task queue. */
  startContinuous(input: RunInput): Promise<WorkflowHandle>;
  /** Signal-with-start a chatConversationWorkflow on the run worker's task queue with one inbound event. */
  chatEvent(input: ChatConversationInput, workflowId: string, event: ChatInbound): Promise<WorkflowHandle>;
}

export interface Scenario {
  /** The histories it records, in order: the `<name>` of `<name>-<tag>.json`. */
  records: string[];
  /** Worker configuration beyond the shared one (e.g. a slower offline model). */
  env?: Record<string, string>;
  /**
   * Starts the runs and drives them; returns the handle of each wanted history (a subset of `records`). The
   * recorder then waits for each to end and fetches its history.
   */
  drive(h: Harness, wanted: string[]): Promise<Record<string, WorkflowHandle>>;
}

/** Shared worker configuration: offline model, the local site allow-listed, a quick robot-slot check. */
const SHARED_ENV = { MC_OFFLINE_DELAY_MS: '200', MC_FETCH_ALLOWLIST: '127.0.0.2/32', MC_SLOT_CHECK_SECONDS: '2' };
/** The offline model's delay in the first scenarios recorded (done, cancelled, failed, gate-revised-approved). */
const instant = { MC_OFFLINE_DELAY_MS: '0' };
const slow = { MC_OFFLINE_DELAY_MS: '1500' };

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The input of the first scenarios recorded: an ad-hoc robot without tools. */
const PLAIN: RunInput = { task: 'Record a history', robot: { id: 'adhoc', name: 'Recorder', role: 'Records histories', version: 0 }, trigger: 'api' };
const ROBOT = { id: 'rec', name: 'Recorder', role: 'Records histories', version: 0, tools: ['http_fetch', 'command'] };
/** A run of a robot with tools, quick retries. */
const base = (task: string, extra: Partial<RunInput> = {}): RunInput => ({
  task,
  robot: ROBOT,
  trigger: 'api',
  ...extra,
  options: { retryInitialIntervalMs: 100, ...extra.options },
});
const tokens = (u: { inputTokens: number; outputTokens: number }) => u.inputTokens + u.outputTokens;
const byId = (s: RunState) => Object.fromEntries((s.dag?.nodes ?? []).map((n) => [n.id, n]));

/** Poll the run's state until `pred` holds; on time-out, say where the run was. */
async function until(h: WorkflowHandle, pred: (s: RunState) => boolean, ms = 60000): Promise<RunState> {
  let last: RunState | undefined;
  const check = async () => {
    last = await h.query(runStateQuery);
    return pred(last) && last;
  };
  return eventually(check, ms, 30).catch((err: Error) => {
    throw new Error(`${err.message}; run ${h.workflowId} is ${last?.status}, last events ${JSON.stringify(last?.events.slice(-3))}`);
  });
}

/** A decision by update, as the API would send it. */
const decide = (h: WorkflowHandle, d: DecisionInput) => h.executeUpdate(decideUpdate, { args: [{ by: 'recorder', channel: 'api', ...d }] });

const BUDGET_GRAPH = ['budget-graph-raised', 'budget-graph-rejected'];

/** A scenario that records one run, started and driven by `drive`. */
const one = (name: string, drive: (h: Harness) => Promise<WorkflowHandle>, env?: Record<string, string>): [string, Scenario] => [
  name,
  { records: [name], env, drive: async (h) => ({ [name]: await drive(h) }) },
];

export const SCENARIOS: Record<string, Scenario> = Object.fromEntries([
  one('done', (h) => h.start(PLAIN), instant),
  one(
    'cancelled',
    async (h) => {
      const run = await h.start(PLAIN);
      await until(run, (s) => s.currentStage === 'goals');
      await run.cancel();
      return run;
    },
    slow,
  ),
  one(
    'gate-revised-approved',
    async (h) => {
      // A gate before Delivery: sent back once with feedback, then approved.
      const run = await h.start({ ...PLAIN, approvals: { gates: [{ at: 'delivery', timeoutSeconds: 3600, onTimeout: 'reject' }] } });
      await until(run, (s) => !!s.gate);
      await decide(run, { gate: 'delivery', decision: 'revise', feedback: 'Shorter, please' });
      await until(run, (s) => s.gate?.key === 'delivery#2');
      await decide(run, { gate: 'delivery', decision: 'approve' });
      return run;
    },
    instant,
  ),
  // A stage timeout of 1 s against an offline model that takes 1.5 s a call, one attempt: Failed.
  one('failed', (h) => h.start({ ...PLAIN, options: { stageMaxAttempts: 1, stageTimeoutSeconds: 1 } }), slow),
  // Delivery to the robot's destinations (a webhook at the local site and a file), after the final gate.
  ...(
    [
      ['delivery-destinations', 200, 'warn'],
      ['delivery-warned', 400, 'warn'],
      ['delivery-failed', 400, 'fail'],
    ] as const
  ).map(([name, status, onFailure]) =>
    one(name, async (h) => {
      h.setSiteStatus(status);
      return h.start(
        base(`Deliver the report (${name})`, {
          delivery: { onFailure, destinations: [{ type: 'webhook', url: `${h.siteUrl}/deliver` }, ...(onFailure === 'warn' ? [{ type: 'file' as const, name: 'report' }] : [])] },
        }),
      );
    }),
  ),
  one('host', async (h) => {
    // The Robot Host asks until it has enough, then the task is confirmed.
    const run = await h.start(base('Clarify this task please', { host: { enabled: true, maxTurns: 3 } }));
    for (;;) {
      const s = await until(run, (x) => x.host?.status === 'asking' || x.host?.status === 'confirming' || x.status !== 'Pending');
      if (s.host?.status !== 'asking') {
        if (s.host?.status === 'confirming') await run.executeUpdate(hostConfirmUpdate, { args: [{ by: 'rec' }] });
        return run;
      }
      await run.executeUpdate(hostMessageUpdate, { args: [{ text: 'More detail: a short list', by: 'rec' }] });
    }
  }),
  one('budget-stage', async (h) => {
    // A token budget that runs out right after Inspiration: the budget gate, approved with a raise.
    const probe = await (await h.start(base('Measure'))).result();
    const run = await h.start(base('Budget at goals', { budget: { maxTokens: tokens(probe.stages[0].usage) + 1 } }));
    await until(run, (s) => s.gate?.gate === 'budget');
    await decide(run, { gate: 'budget', decision: 'approve', raiseBy: { tokens: 1_000_000 } });
    return run;
  }),
  [
    'budget-graph',
    {
      // A budget that runs out inside the graph (a node refused for budget): the first budget found that does so is
      // raised, the second rejected (the same two whether both are recorded or one).
      records: BUDGET_GRAPH,
      async drive(h, wanted) {
        const dag = [node('a'), node('b'), node('c'), node('d', ['a', 'b', 'c'])];
        const probe = await (await h.start(base('Measure graph', { dag }))).result();
        const nodeTokens = (probe.dag?.nodes ?? []).reduce((n, x) => n + tokens(x.usage), 0);
        const upToPlan = probe.stages.slice(0, 3).reduce((n, s) => n + tokens(s.usage), 0) - nodeTokens;
        const got: Record<string, WorkflowHandle> = {};
        let found = 0;
        for (let extra = 1; extra < 2000 && Object.keys(got).length < wanted.length; extra += 37) {
          const run = await h.start(base('Budget in graph', { dag, budget: { maxTokens: upToPlan + extra } }));
          const s = await until(run, (x) => x.gate?.gate === 'budget' || x.status === 'Done');
          const inGraph = s.status !== 'Done' && s.gate?.budget?.stage === 'tasks' && s.events.some((e) => e.type === 'node.budget');
          const name = inGraph ? BUDGET_GRAPH[found++] : undefined;
          if (!name || !wanted.includes(name)) await run.cancel();
          else {
            if (name === 'budget-graph-raised') await decide(run, { gate: 'budget', decision: 'approve', raiseBy: { tokens: 1_000_000 } });
            else await decide(run, { gate: 'budget', decision: 'reject', feedback: 'no' });
            got[name] = run;
          }
        }
        return got;
      },
    },
  ],
  // A gate that times out into an escalation nobody can receive (no contact): rejected.
  one('escalate-reject', (h) =>
    h.start(base('Escalate', { approvals: { gates: [{ at: 'goals', timeoutSeconds: 1, onTimeout: 'escalate', escalationTimeoutSeconds: 1 }] } })),
  ),
  one('timeouts-contact', async (h) => {
    // One gate approved by its time-out, one escalated to a contact's webhook, then approved by a signal.
    const run = await h.start(
      base('Timeouts', {
        approvals: {
          gates: [
            { at: 'tasks', timeoutSeconds: 1, onTimeout: 'approve' },
            { at: 'validation', timeoutSeconds: 1, onTimeout: 'escalate', escalationTimeoutSeconds: 60 },
          ],
          escalateTo: { name: 'Boss', webhookUrl: `${h.siteUrl}/hook` },
        },
      }),
    );
    await until(run, (s) => !!s.gate?.escalated && s.events.some((e) => e.type === 'gate.escalated' || e.type === 'gate.escalation_failed'));
    await run.signal(decisionSignal, { decision: 'approve', by: 'rec' });
    return run;
  }),
  one('signals-rejected', async (h) => {
    // Decisions by signal (a revise, then a second one refused) and by update; rejected at the final gate.
    const run = await h.start(base('Signals', { approvals: { gates: [{ at: 'inspiration' }, { at: 'final' }] } }));
    await until(run, (s) => s.gate?.gate === 'inspiration');
    await run.signal(decisionSignal, { decision: 'revise', feedback: 'x', by: 'rec' });
    await run.signal(decisionSignal, { decision: 'approve', by: 'rec', channel: 'timeout' as never });
    await until(run, (s) => s.gate?.gate === 'final');
    await decide(run, { gate: 'final', decision: 'revise', feedback: 'Shorter' });
    await until(run, (s) => s.gate?.key === 'final#2');
    await decide(run, { gate: 'final', decision: 'reject', feedback: 'No', channel: 'ui' });
    return run;
  }),
  one('dag-parallel', (h) => {
    const dag = [
      node('a', [], { simulatedLatencyMs: 300 }),
      node('b', [], { simulatedLatencyMs: 100 }),
      node('c', [], { simulatedLatencyMs: 500 }),
      node('d', ['a', 'b']),
      node('e', ['d', 'c']),
      node('f', []),
    ];
    return h.start(base('Parallel', { dag, options: { dagParallelism: 2 } }));
  }),
  one('dag-cancel-retry', async (h) => {
    // A running node cancelled, then retried, while its sibling goes on.
    const dag = [node('slow', [], { simulatedLatencyMs: 3000 }), node('slowNext', ['slow']), node('sibling', [], { simulatedLatencyMs: 6000 }), node('siblingNext', ['sibling'])];
    const run = await h.start(base('Cancel and retry', { dag, options: { validateNodes: false } }));
    await until(run, (s) => byId(s).slow?.status === 'running');
    await run.executeUpdate(cancelNodeUpdate, { args: [{ nodeId: 'slow' }] });
    await run.executeUpdate(retryNodeUpdate, { args: [{ nodeId: 'slow' }] });
    return run;
  }),
  one('dag-fail-wait-retry', async (h) => {
    // An http_fetch node fails (404) and the graph waits; the page appears, the node is retried.
    h.setSiteStatus(404);
    const dag = [node('page', [], { kind: 'tool', tool: 'http_fetch', args: { url: `${h.siteUrl}/report` } }), node('read', ['page'], { kind: 'extract' }), node('other', [])];
    const run = await h.start(base('Retry a node', { dag, options: { onNodeFailure: 'wait' } }));
    await until(run, (s) => !!s.dag?.awaitingRetry);
    h.setSiteStatus(200);
    await run.executeUpdate(retryNodeUpdate, { args: [{ nodeId: 'page' }] });
    return run;
  }),
  one('dag-desktop', async (h) => {
    // Command nodes on the desktop (each waits for approval: the graph cannot waive it): two approved, one rejected.
    const args = { argv: [process.execPath, '-e', 'console.log("hi")'] };
    const command = (id: string, extra: Partial<DagNodeSpec> = {}) => node(id, [], { kind: 'command', args, worker: h.desktopQueue, ...extra });
    const dag = [command('cmdB'), command('cmdC'), command('cmdA'), node('report', ['cmdB', 'cmdA'])];
    const run = await h.start(base('Run commands', { dag, options: { onNodeFailure: 'continue' } }));
    await until(run, (s) => ['cmdA', 'cmdB', 'cmdC'].every((id) => byId(s)[id]?.status === 'waiting'));
    await run.executeUpdate(approveNodeUpdate, { args: [{ nodeId: 'cmdA', decision: 'approve' }] });
    await until(run, (s) => byId(s).cmdA?.status === 'done');
    await run.executeUpdate(approveNodeUpdate, { args: [{ nodeId: 'cmdB', decision: 'approve' }] });
    await run.executeUpdate(approveNodeUpdate, { args: [{ nodeId: 'cmdC', decision: 'reject', feedback: 'no' }] });
    return run;
  }),
  one('dag-cancelled', async (h) => {
    // The run cancelled while two nodes run.
    const dag = [node('a', [], { simulatedLatencyMs: 5000 }), node('b', [], { simulatedLatencyMs: 5000 }), node('c', ['a'])];
    const run = await h.start(base('Cancel in graph', { dag }));
    await until(run, (s) => byId(s).a?.status === 'running' && byId(s).b?.status === 'running');
    await wait(300);
    await run.cancel();
    return run;
  }),
  [
    'concurrency',
    {
      // Two runs of a robot limited to one at a time, and the robot's slot workflow that orders them.
      records: ['conc-1', 'conc-2', 'slots'],
      async drive(h) {
        const robotId = `conc-${randomUUID()}`;
        const input = { ...base('Concurrent'), robot: { ...ROBOT, id: robotId }, concurrencyLimit: 1 };
        const first = await h.start(input);
        const second = await h.start(input);
        await Promise.all([first.result(), second.result()]);
        return { 'conc-1': first, 'conc-2': second, slots: h.client.workflow.getHandle(robotSlotsWorkflowId(robotId)) };
      },
    },
  ],
  [
    'chat',
    {
      // A message from a chat thread: the conversation starts a run, the run tells it when it moves. The platform's
      // credentials do not exist here, so every reply fails at once (recorded as the conversation's last error).
      records: ['chat-run', 'chat-conversation'],
      async drive(h) {
        const id = randomUUID().slice(0, 8);
        const conversationId = `chat-rec-telegram-${id}`;
        const runId = `run-chat-rec-telegram-tg-${id}`;
        const conv = await h.chatEvent({ robotId: 'rec', platform: 'telegram', chat: { id: '42', kind: 'private' } }, conversationId, {
          eventId: `tg-${id}`,
          at: new Date().toISOString(),
          user: { id: '42', name: 'rec' },
          text: 'Record a chat run',
          integration: { platform: 'telegram', botToken: 'rec-missing-token', webhookSecret: 'rec-missing-secret', approvers: [] },
          run: { runId, input: { ...base('Record a chat run'), trigger: 'chat' } },
        });
        const run = h.client.workflow.getHandle(runId);
        await eventually(() => run.describe().then(() => true), 30_000);
        await run.result();
        await eventually(async () => (await conv.query(chatConversationQuery)).runs[0]?.finished === true, 30_000, 100);
        await conv.cancel();
        return { 'chat-run': run, 'chat-conversation': conv };
      },
    },
  ],
  one('session-revocations', async (h) => {
    // The sign-out registry: revocations arrive (some already expired), expired ones are dropped, and it
    // continues-as-new carrying the rest; the first run's history is recorded.
    const workflowId = `mc-session-revocations-${randomUUID()}`;
    const registry = await h.client.workflow.start(sessionRevocationsWorkflow, {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ revoked: [{ sid: 'carried', until: Date.now() + 3_600_000 }], maxHistoryEvents: 12 }],
    });
    const first = h.client.workflow.getHandle(workflowId, registry.firstExecutionRunId);
    for (let i = 0; (await first.describe()).status.name === 'RUNNING'; i++) {
      await registry.signal(revokeSessionSignal, { sid: `s${i}`, until: Date.now() + (i % 2 ? 3_600_000 : 1) });
      await wait(50);
    }
    // The registry never ends on its own: end the run it continued into, so that the recorder's wait for the
    // recorded run's result (which follows continue-as-new) returns.
    await h.client.workflow.getHandle(workflowId).terminate('recorded');
    return first;
  }),
  one('continuous', async (h) => {
    // A continuous robot loops for a while, then is cancelled.
    const run = await h.startContinuous(base('Loop'));
    await wait(8000);
    await run.cancel();
    return run;
  }),
]);

/** Every history name, in recording order. */
export const HISTORY_NAMES = Object.values(SCENARIOS).flatMap((s) => s.records);

interface Site {
  url: string;
  setStatus(status: number): void;
  close(): void;
}

/** A local site on 127.0.0.2 (the only loopback address the shared configuration allow-lists). */
async function startSite(): Promise<Site> {
  let status = 404;
  const server = http.createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? `page at ${req.url}` : 'not yet');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  return { url: `http://127.0.0.2:${(server.address() as AddressInfo).port}`, setStatus: (s) => (status = s), close: () => server.close() };
}

/**
 * Runs one scenario with a run worker and a desktop worker of its own (its configuration, fresh task queues) and
 * returns the history JSON of each wanted run, once each has ended.
 */
async function record(env: TestWorkflowEnvironment, site: Site, code: string, scenario: Scenario, wanted: string[]): Promise<Record<string, string>> {
  const config = testConfig({ ...SHARED_ENV, ...scenario.env });
  const connection = env.nativeConnection;
  const worker = await createRobotWorker({ connection, config, workflowBundle: { code } });
  const desktopQueue = `desk-${randomUUID()}`;
  const desktop = await createDesktopWorker({ connection, config, queue: desktopQueue });
  const taskQueue = config.MC_TASK_QUEUE;
  const harness: Harness = {
    client: env.client,
    taskQueue,
    desktopQueue,
    siteUrl: site.url,
    setSiteStatus: site.setStatus,
    start: (input) => env.client.workflow.start(robotRunWorkflow, { taskQueue, workflowId: `run-${randomUUID()}`, args: [input] }),
    startContinuous: (run) => env.client.workflow.start(robotContinuousWorkflow, { taskQueue, workflowId: `cont-${randomUUID()}`, args: [{ run, pauseMs: 100, maxHistoryEvents: 1000 }] }),
    chatEvent: (input, workflowId, event) =>
      env.client.workflow.signalWithStart(chatConversationWorkflow, { taskQueue, workflowId, args: [input], signal: chatInboundSignal, signalArgs: [event] }),
  };
  const collect = async () => {
    const handles = await scenario.drive(harness, wanted);
    const out: Record<string, string> = {};
    for (const name of wanted) {
      const handle = handles[name];
      if (!handle) throw new Error(`scenario did not produce ${name}`);
      await handle.result().catch(() => undefined); // cancelled and failed runs are recorded too
      out[name] = historyToJSON(await handle.fetchHistory());
    }
    return out;
  };
  return worker.runUntil(desktop.runUntil(collect()));
}

/** A refusal worth a one-line message rather than a stack. */
class UsageError extends Error {}

function parseCli() {
  const { values } = parseArgs({
    options: { tag: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean' } },
  });
  const usage = `usage: npm run record:histories -- --tag <tag> [--only <names>] [--out <dir>]\nnames: ${HISTORY_NAMES.join(', ')}`;
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (!values.tag || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(values.tag)) throw new UsageError(`--tag <tag> is required (letters, digits, . _ -)\n${usage}`);
  const only = values.only ? [...new Set(values.only.split(',').map((s) => s.trim()))] : HISTORY_NAMES;
  const unknown = only.filter((n) => !HISTORY_NAMES.includes(n));
  if (unknown.length) throw new UsageError(`unknown history names: ${unknown.join(', ')}\n${usage}`);
  return { tag: values.tag, only, out: path.resolve(values.out ?? path.join(__dirname, '..', 'test', 'histories')) };
}

async function main() {
  const { tag, only, out } = parseCli();
  const target = (name: string) => path.join(out, `${name}-${tag}.json`);
  const existing = only.map(target).filter((f) => fs.existsSync(f));
  if (existing.length) throw new UsageError(`refusing to overwrite recorded histories (choose another --tag):\n  ${existing.join('\n  ')}`);

  const began = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const env = await createTestEnv();
  const site = await startSite();
  const recorded: Record<string, string> = {};
  const failures: string[] = [];
  try {
    for (const [scenarioName, scenario] of Object.entries(SCENARIOS)) {
      const wanted = scenario.records.filter((n) => only.includes(n));
      if (!wanted.length) continue;
      const t0 = Date.now();
      try {
        Object.assign(recorded, await record(env, site, code, scenario, wanted));
        console.log(`recorded ${wanted.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (err) {
        failures.push(scenarioName);
        console.error(`scenario ${scenarioName} failed:`, err);
      }
    }
  } finally {
    site.close();
    await env.teardown();
  }
  // All or nothing, so that a generation is never half there and a rerun with the same tag can start.
  if (failures.length) throw new UsageError(`nothing written: ${failures.length} scenario(s) failed (${failures.join(', ')})`);
  fs.mkdirSync(out, { recursive: true });
  for (const name of only) {
    fs.writeFileSync(target(name), recorded[name], { flag: 'wx' }); // wx: never overwrite, even if one appeared since
    console.log(`wrote ${path.relative(process.cwd(), target(name))} (${JSON.parse(recorded[name]).events.length} events)`);
  }
  console.log(`${only.length} histories in ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof UsageError ? err.message : err);
      process.exit(1);
    },
  );
}
