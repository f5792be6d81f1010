/**
 * Command nodes: their approval comes only from the robot's definition or the caller (never from a graph a model
 * planned or a caller supplied), and the program runs in the bubblewrap sandbox, where it sees none of the desktop
 * worker's secrets — checked end to end over the API, with the planner answered by a model through the real
 * `openai` client, and a desktop worker on this machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { robotRunWorkflow } from '../workflows';
import { runStateQuery } from '../contracts/messages';
import { runArgv } from '../activities/tools/command';
import { bwrapArgs, checkSandbox, SandboxUnavailable } from '../activities/tools/sandbox';
import { createDesktopWorker } from '../workers/desktop';
import { spawnWorkerProcess, within, WorkerProcess } from '../testkit/worker-process';
import { ConfigError } from '../lib/config';
import { apiClient, runWaiter } from './helpers/http';
import { FakeLlm, pipelineResponder, startFakeLlm } from './helpers/fake-llm';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually, testConfig } from '../testkit/temporal';

/**
 * Secrets in the desktop worker's own environment (it runs as a process of its own, started with them, as
 * `npm run desktop` would be): none may reach a command's output, or the history and prompts it goes into.
 */
const CANARIES = {
  MC_API_KEYS: `canary-api-key-${randomUUID()}`,
  MC_ADMIN_PASSWORD: `canary-password-${randomUUID()}`,
  MC_WEBHOOK_KEY: `canary-webhook-key-${randomUUID()}`,
  OPENAI_API_KEY: `canary-openai-${randomUUID()}`,
};
const secrets = Object.values(CANARIES);
const KEY = CANARIES.MC_API_KEYS;

/** The data folder: its generated key file holds a canary too. */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-sandbox-data-'));
const dataCanary = `canary-data-${randomUUID()}`;
fs.writeFileSync(path.join(dataDir, 'api-key'), `${dataCanary}\n`, { mode: 0o600 });
const repo = path.resolve(__dirname, '..');

/** What the attacker in the issue ran, and more: the parent's environment, its own, every /proc entry, the data folder, the repository. */
const PROBE = [
  'sh',
  '-c',
  [
    `echo "== data"; cat ${dataDir}/api-key 2>&1 || true`,
    `echo "== repo"; ls -d ${repo} 2>&1 || true`,
    'echo "== parent $PPID"; tr "\\0" "\\n" </proc/$PPID/environ',
    'echo "== env"; env',
    'echo "== all"; for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" <"$f" 2>/dev/null; done',
    'echo "== end"',
  ].join('; '),
];

let env: TestWorkflowEnvironment;
let api: TestApi;
let llm: FakeLlm;
const output: string[] = [];
/** Desktops in processes of their own: one sandboxed (the default), one with MC_COMMAND_SANDBOX=none. */
const queue = `desk-${randomUUID()}`;
const openQueue = `desk-open-${randomUUID()}`;
const desktops: WorkerProcess[] = [];
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

async function startDesktop(name: string, q: string, vars: Record<string, string>): Promise<void> {
  const d = spawnWorkerProcess(name, { TEMPORAL_ADDRESS: env.address, MC_DATA_DIR: dataDir, MC_LOG_LEVEL: 'info', ...CANARIES, ...vars }, output, {
    entry: 'workers/desktop.ts',
    args: ['--queue', q],
  });
  desktops.push(d);
  await within(30_000, eventually(async () => output.some((l) => l.includes(`desktop polling task queue "${q}"`)), 30_000, 100), `${name} polling`);
}

/** The planner model asks for a command node that skips its approval, as injected text might make it. */
const plannedCommand = {
  nodes: [
    { id: 'probe', title: 'Look around', kind: 'command', instructions: 'Run it', expectedOutput: 'Output', dependsOn: [], args: { argv: PROBE }, worker: queue, requiresApproval: false },
    { id: 'report', title: 'Report', kind: 'text', instructions: 'Report', expectedOutput: 'A report', dependsOn: ['probe'] },
  ],
};

beforeAll(async () => {
  env = await createTestEnv();
  llm = await startFakeLlm(pipelineResponder((_call, stage) => (stage === 'tasks.plan' ? { content: JSON.stringify(plannedCommand) } : undefined)));
  api = await startTestApi(env, { ...CANARIES, MC_DATA_DIR: dataDir, MC_MODEL_PROVIDER: 'openai', OPENAI_BASE_URL: llm.openaiBaseUrl });
  await startDesktop('desktop', queue, {});
  await startDesktop('open-desktop', openQueue, { MC_COMMAND_SANDBOX: 'none' });
  for (const [id, extra] of [
    ['operator', {}],
    ['trusted-operator', { approvals: { commands: 'pre-approved' } }],
  ] as const) {
    const r = await call('POST', '/api/robots', { id, name: id, role: 'Runs checks on this machine.', tools: ['command'], ...extra });
    expect(r.status).toBe(201);
  }
}, 90_000);

afterAll(async () => {
  for (const d of desktops) d.child.kill('SIGTERM');
  await Promise.all(desktops.map((d) => d.exited));
  await api?.stop();
  await llm?.close();
  await env?.teardown();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const nodeOf = (run: any, id: string) => run.dag?.nodes?.find((n: any) => n.id === id);
/** A node's whole output (the state keeps a preview): as the Tasks stage handed it to Validation and Delivery. */
const fullOutput = (run: any, id: string): string => run.stages.find((s: any) => s.name === 'tasks').output.tasks.find((t: any) => t.id === id).result;

/** The probe's output must show it ran (environment, markers) and hold no secret of the worker. */
function expectNoSecrets(output: string) {
  expect(output).toContain('== env');
  expect(output).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
  expect(output).toContain('== end');
  expect(leaked(output)).toEqual([]);
  expect(output).not.toMatch(/MC_API_KEYS|MC_ADMIN_PASSWORD|MC_WEBHOOK_KEY|OPENAI_API_KEY|TEMPORAL/);
  expect(output).toMatch(/== data\n.*No such file or directory/);
  expect(output).toMatch(/== repo\n.*No such file or directory/);
}

/** Every payload of a run's history, decoded: what Temporal keeps of it. */
async function historyText(runId: string): Promise<string> {
  const history = await env.client.workflow.getHandle(runId).fetchHistory();
  const texts: string[] = [];
  JSON.stringify(history, (k, v) => {
    if (k === 'data' && typeof v === 'string') texts.push(Buffer.from(v, 'base64').toString('utf8'));
    return v;
  });
  return texts.join('\n');
}

/** `text` holds none of the secrets (checked without printing megabytes on failure). */
const leaked = (text: string) => [...secrets, dataCanary].filter((s) => text.includes(s));

test('When the planner model asks for requiresApproval:false on a command node, then the node still waits; approved, the command sees none of the canary secrets', async () => {
  const started = await call('POST', '/api/runs', { robotId: 'operator', task: 'Check this machine' });
  expect(started.status).toBe(201);
  const waiting = await waitFor(started.json.id, (r) => nodeOf(r, 'probe')?.status === 'waiting');
  expect(waiting.status).toBe('Review');
  expect(nodeOf(waiting, 'probe').requiresApproval).toBe(true);
  expect(llm.calls.some((c) => /requiresApproval/.test(c.prompt))).toBe(false);

  const approved = await call('POST', `/api/runs/${started.json.id}/nodes/probe/approval`, { decision: 'approve' });
  expect(approved.status).toBe(200);
  const done = await waitFor(started.json.id, (r) => r.status === 'Done', 30_000);
  const probe = nodeOf(done, 'probe');
  expect(probe.ranOn).toMatchObject({ queue, sandbox: 'bwrap', exitCode: 0 });
  expectNoSecrets(fullOutput(done, 'probe'));
  // The dependant node's prompt (sent to the model) got the output too.
  expect(llm.calls.some((c) => c.prompt.includes('== end'))).toBe(true);
  for (const s of secrets) expect(llm.calls.some((c) => c.prompt.includes(s))).toBe(false);
  const history = await historyText(started.json.id);
  expect(history).toContain('== env');
  expect(leaked(history)).toEqual([]);
});

test('When a caller supplies a graph with requiresApproval:false, then the API refuses it and says where approval comes from', async () => {
  const r = await call('POST', '/api/runs', {
    robotId: 'operator',
    task: 'Check this machine',
    dag: [{ id: 'probe', title: 'Look', kind: 'command', instructions: 'Run', expectedOutput: 'Output', args: { argv: ['true'] }, worker: queue, requiresApproval: false }],
  });
  expect(r.status).toBe(400);
  expect(r.json.error).toMatch(/^dag\.0\.requiresApproval: approval is not part of the graph: set approvals\.commands to "pre-approved"/);
});

test('When a workflow is started directly with a graph asking requiresApproval:false, then the command node still waits for approval', async () => {
  const id = `run-${randomUUID()}`;
  const handle = await env.client.workflow.start(robotRunWorkflow, {
    taskQueue: api.config.MC_TASK_QUEUE,
    workflowId: id,
    args: [
      {
        task: 'Check this machine',
        trigger: 'api',
        robot: { id: 'operator', name: 'operator', role: 'Runs checks', version: 1, tools: ['command'] },
        dag: [{ id: 'probe', title: 'Look', kind: 'command', instructions: 'Run', expectedOutput: 'Output', dependsOn: [], args: { argv: ['true'] }, worker: queue, requiresApproval: false } as never],
      },
    ],
  });
  const s = await eventually(async () => {
    const state = await handle.query(runStateQuery);
    return state.dag?.nodes[0]?.status === 'waiting' ? state : undefined;
  });
  expect(s.status).toBe('Review');
  await handle.cancel();
});

test('When the robot definition pre-approves commands, then a command node runs without waiting, still sandboxed', async () => {
  const started = await call('POST', '/api/runs', {
    robotId: 'trusted-operator',
    task: 'Check this machine',
    dag: [{ id: 'probe', title: 'Look', kind: 'command', instructions: 'Run', expectedOutput: 'Output', args: { argv: PROBE }, worker: queue }],
  });
  expect(started.status).toBe(201);
  const done = await waitFor(started.json.id, (r) => r.status === 'Done', 30_000);
  const probe = nodeOf(done, 'probe');
  expect(probe.requiresApproval).toBe(false);
  expect(probe.approval).toBeUndefined();
  expect(done.events.some((e: any) => e.type === 'node.waiting')).toBe(false);
  expectNoSecrets(fullOutput(done, 'probe'));
});

test('When the caller pre-approves commands for one run (approvals.commands), then the node runs without waiting; without it, it waits', async () => {
  const dag = [{ id: 'probe', title: 'Look', kind: 'command', instructions: 'Run', expectedOutput: 'Output', args: { argv: ['true'] }, worker: queue }];
  const pre = await call('POST', '/api/runs', { robotId: 'operator', task: 'Check', dag, approvals: { commands: 'pre-approved' } });
  expect(pre.status).toBe(201);
  expect((await waitFor(pre.json.id, (r) => r.status === 'Done', 30_000)).status).toBe('Done');
  const ask = await call('POST', '/api/runs', { robotId: 'trusted-operator', task: 'Check', dag, approvals: { commands: 'ask' } });
  expect(ask.status).toBe(201);
  await waitFor(ask.json.id, (r) => nodeOf(r, 'probe')?.status === 'waiting');
  await call('POST', `/api/runs/${ask.json.id}/cancel`);
});

test('When the same probe runs on a desktop with MC_COMMAND_SANDBOX=none, then it does see the worker\'s secrets: the probe is real, and the weaker mode is as weak as documented', async () => {
  const started = await call('POST', '/api/runs', {
    robotId: 'trusted-operator',
    task: 'Check this machine',
    dag: [{ id: 'probe', title: 'Look', kind: 'command', instructions: 'Run', expectedOutput: 'Output', args: { argv: PROBE }, worker: openQueue }],
  });
  const done = await waitFor(started.json.id, (r) => r.status === 'Done', 30_000);
  const out = fullOutput(done, 'probe');
  expect(nodeOf(done, 'probe').ranOn).toMatchObject({ sandbox: 'none' });
  expect(leaked(out)).toEqual(expect.arrayContaining([CANARIES.MC_WEBHOOK_KEY, CANARIES.MC_API_KEYS, dataCanary]));
});

describe('the sandbox itself', () => {
  const sandbox = { MC_COMMAND_SANDBOX: 'bwrap' as const, MC_COMMAND_NETWORK: false };
  const run = (argv: string[], s: { MC_COMMAND_SANDBOX: 'bwrap' | 'none'; MC_COMMAND_NETWORK: boolean } = sandbox) =>
    runArgv(argv, { timeoutMs: 10_000, maxOutputBytes: 100_000, signal: new AbortController().signal, sandbox: s });

  test('When a sandboxed program looks around, then it runs as nobody, without network, capabilities or a writable /usr', async () => {
    const r = await run(['sh', '-c', 'id -u; cat /proc/self/status | grep CapEff; ls /sys/class/net 2>&1; (echo x > /usr/x) 2>&1; echo ok > /tmp/t && cat /tmp/t']);
    expect(r.exitCode).toBe(0);
    const [uid, caps, ...rest] = r.stdout.trim().split('\n');
    expect(uid).toBe('65534');
    expect(caps).toMatch(/CapEff:\s+0+$/);
    expect(rest.join('\n')).toMatch(/Read-only file system/);
    expect(rest.at(-1)).toBe('ok');
    // Only the namespace's own loopback: no route to Temporal, the API or anything else.
    const net = await run(['sh', '-c', 'cat /proc/net/route | wc -l; cat /proc/net/if_inet6 2>/dev/null | wc -l']);
    expect(net.stdout.trim().split('\n')[0]).toBe('1');
  });

  test('When bubblewrap is missing, then the desktop refuses to start and a command refuses to run, saying how to fix it', async () => {
    const saved = process.env.PATH;
    process.env.PATH = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-no-bwrap-'));
    try {
      expect(() => checkSandbox(sandbox)).toThrow(SandboxUnavailable);
      await expect(run(['true'])).rejects.toThrow(/bubblewrap \(bwrap\) is not installed.*apt-get install -y bubblewrap.*MC_COMMAND_SANDBOX=none/);
      await expect(createDesktopWorker({ connection: env.nativeConnection, config: testConfig({ MC_COMMAND_SANDBOX: 'bwrap' }), queue: 'never' })).rejects.toThrow(ConfigError);
    } finally {
      process.env.PATH = saved;
    }
  });

  test('When the sandbox is built, then bwrap gets no environment and the program a scrubbed one', () => {
    const args = bwrapArgs(['env'], { network: false });
    expect(args).toEqual(expect.arrayContaining(['--unshare-all', '--clearenv', '--die-with-parent', '--new-session']));
    expect(args).not.toContain('--share-net');
    expect(bwrapArgs(['env'], { network: true })).toContain('--share-net');
  });
});
