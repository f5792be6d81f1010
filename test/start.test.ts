/**
 * `npm start` as a user runs it: the real start script brings up the embedded dev server (persistent DB file),
 * the worker and the API; a run started with plain HTTP reaches Done; `temporal workflow show` lists the five
 * stage activities; Ctrl-C (SIGINT) stops everything; a second start finds the run again.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../testkit/dev-server';
import { eventually } from '../testkit/temporal';

const root = path.resolve(__dirname, '..');
const children: ChildProcess[] = [];

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function start(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Pids of every descendant of `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length) {
    const next = [...parent].filter(([, pp]) => frontier.includes(pp)).map(([p]) => p);
    out.push(...next);
    frontier = next;
  }
  return out;
}

const commandLine = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MC_|TEMPORAL_ADDRESS|OPENAI_|ANTHROPIC_)/.test(k)));

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

const leftovers: number[] = [];

test('When a user runs npm start and curls a run, then it is Done, visible in the Temporal CLI, and Ctrl-C stops everything', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-start-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const env = { ...cleanEnv(), PORT: String(port), MC_TEMPORAL_PORT: String(temporalPort), MC_TEMPORAL_UI_PORT: String(uiPort), MC_DATA_DIR: dataDir };

  const first = start(env);
  await eventually(async () => first.output().includes('Mission Control is up'), 90_000, 200).catch((err) => {
    throw new Error(`${err.message}\n${first.output()}`);
  });
  expect(first.output()).toContain(`http://127.0.0.1:${port}`);
  expect(first.output()).toMatch(/Generated an API key/);
  expect(first.output()).toMatch(/offline model/);
  const key = fs.readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
  expect(first.output()).toContain(key);
  const api = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  const created: any = await (await fetch(`${api}/api/runs`, { method: 'POST', headers: auth, body: JSON.stringify({ task: 'Write a haiku about durable execution' }) })).json();
  expect(created.id).toMatch(/^run-[0-9a-f-]{36}$/);
  const run: any = await eventually(async () => {
    const r: any = await (await fetch(`${api}/api/runs/${created.id}`, { headers: auth })).json();
    return r.status === 'Done' ? r : undefined;
  }, 30_000);
  expect(run.offline).toBe(true);

  const show = spawnSync(process.env.TEMPORAL_CLI_PATH!, ['workflow', 'show', '--address', `127.0.0.1:${temporalPort}`, '-w', created.id, '--output', 'json'], { encoding: 'utf8' });
  expect(show.status).toBe(0);
  const events = JSON.parse(show.stdout).events as any[];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes.activityType.name);
  // The stage activities in order; the Tasks stage is the graph: planDag, then one activity per node (and its check).
  expect(scheduled.slice(0, 3)).toEqual(['inspirationStage', 'goalsStage', 'planDag']);
  // A run without destinations: Delivery takes effect in the workflow, no delivery activity follows.
  expect(scheduled.slice(-2)).toEqual(['validationStage', 'deliveryStage']);
  const nodes = scheduled.slice(3, -2);
  expect(nodes.filter((n) => n === 'runDagNode').length).toBeGreaterThanOrEqual(2);
  expect(nodes.every((n) => n === 'runDagNode' || n === 'validateDagNode')).toBe(true);

  first.child.kill('SIGINT');
  expect(await first.exited).toBe(0);
  expect(first.output()).toContain('[start] stopped');
  expect(await portOpen(temporalPort)).toBe(false);
  expect(await portOpen(port)).toBe(false);

  // The dev server keeps its state in the data folder: a second start still knows the run, and prints no new key.
  const second = start(env);
  await eventually(async () => second.output().includes('Mission Control is up'), 90_000, 200);
  expect(second.output()).not.toMatch(/Generated an API key/);
  const again: any = await (await fetch(`${api}/api/runs/${created.id}`, { headers: auth })).json();
  expect(again.status).toBe('Done');
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 240_000);

test('When the whole npm start tree but the dev server is SIGKILLed, then npm start comes back on the same folder and the run in flight reaches Done without repeating a completed activity', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-crash-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  // Slow offline answers, so the run is surely in the middle of its Goals stage when the tree is killed.
  const env = { ...cleanEnv(), PORT: String(port), MC_TEMPORAL_PORT: String(temporalPort), MC_TEMPORAL_UI_PORT: String(uiPort), MC_DATA_DIR: dataDir, MC_OFFLINE_DELAY_MS: '1500' };
  const first = start(env);
  await eventually(async () => first.output().includes('Mission Control is up'), 90_000, 200).catch((err) => {
    throw new Error(`${err.message}\n${first.output()}`);
  });
  const key = fs.readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
  const api = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const created: any = await (await fetch(`${api}/api/runs`, { method: 'POST', headers: auth, body: JSON.stringify({ task: 'Write a short report on crash recovery' }) })).json();
  await eventually(async () => {
    const r: any = await (await fetch(`${api}/api/runs/${created.id}`, { headers: auth })).json();
    return r.stages?.find((s: any) => s.name === 'goals')?.status === 'running';
  }, 30_000, 100);

  // What kill -9 of a terminal's processes (or the OOM killer) does: everything of npm start dies at once, but the
  // dev server, which runs in its own process group, is left behind holding the port and the database.
  const tree = descendants(first.child.pid!);
  const server = tree.filter((p) => commandLine(p).includes('start-dev'));
  expect(server).toHaveLength(1);
  leftovers.push(server[0]);
  for (const pid of [first.child.pid!, ...tree.filter((p) => p !== server[0])]) process.kill(pid, 'SIGKILL');
  await first.exited;
  expect(await portOpen(temporalPort)).toBe(true);

  const second = start(env);
  await eventually(async () => second.output().includes('Mission Control is up'), 120_000, 200).catch((err) => {
    throw new Error(`${err.message}\n${second.output()}`);
  });
  expect(second.output()).toContain(`earlier npm start left running`);
  expect(second.output()).toContain(`(pid ${server[0]})`);
  expect(fs.existsSync(`/proc/${server[0]}`)).toBe(false);

  const run: any = await eventually(async () => {
    const r: any = await (await fetch(`${api}/api/runs/${created.id}`, { headers: auth })).json();
    return r.status === 'Done' ? r : undefined;
  }, 90_000, 250);
  expect(run.stages.map((s: any) => s.status)).toEqual(['done', 'done', 'done', 'done', 'done']);

  // Every activity is scheduled once; only the one in flight at the kill (the Goals stage) ran a second attempt.
  const show = spawnSync(process.env.TEMPORAL_CLI_PATH!, ['workflow', 'show', '--address', `127.0.0.1:${temporalPort}`, '-w', created.id, '--output', 'json'], { encoding: 'utf8' });
  expect(show.status).toBe(0);
  const events = JSON.parse(show.stdout).events as any[];
  const typeOf = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes.activityType.name]));
  const attempts = events
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => ({ type: typeOf.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)), attempt: Number(e.activityTaskStartedEventAttributes.attempt) }));
  expect(attempts.length).toBe(typeOf.size);
  expect(attempts.filter((a) => a.attempt > 1).map((a) => a.type)).toEqual(['goalsStage']);
  expect(events.filter((e) => e.activityTaskCompletedEventAttributes).length).toBe(typeOf.size);

  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
  expect(fs.existsSync(path.join(dataDir, 'temporal.pid'))).toBe(false);
}, 300_000);

test('When a foreign process holds the dev server port, then npm start stops with the clear message and leaves it alone', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-foreign-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const squatter = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  const temporalPort = (squatter.address() as net.AddressInfo).port;
  try {
    const run = start({ ...cleanEnv(), PORT: String(port), MC_TEMPORAL_PORT: String(temporalPort), MC_TEMPORAL_UI_PORT: String(uiPort), MC_DATA_DIR: dataDir });
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`port ${temporalPort} is already in use`);
    expect(squatter.listening).toBe(true);
  } finally {
    squatter.close();
  }
}, 60_000);
