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
import { freePort } from './helpers/persistent-server';
import { eventually } from './helpers/temporal-env';

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

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

test('When a user runs npm start and curls a run, then it is Done, visible in the Temporal CLI, and Ctrl-C stops everything', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-start-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MC_|TEMPORAL_ADDRESS|OPENAI_|ANTHROPIC_)/.test(k)));
  const env = { ...clean, PORT: String(port), MC_TEMPORAL_PORT: String(temporalPort), MC_TEMPORAL_UI_PORT: String(uiPort), MC_DATA_DIR: dataDir };

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
  expect(scheduled.slice(-3)).toEqual(['validationStage', 'deliveryStage', 'deliverResult']);
  const nodes = scheduled.slice(3, -3);
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
