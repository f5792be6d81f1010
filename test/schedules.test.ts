/**
 * Robots on Temporal Schedules: runs on their own, pause / resume / trigger / backfill, next run times, skipped
 * actions surfaced as events, switching to on-demand, and the real `temporal` CLI seeing the schedule.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { createMetrics } from '../lib/metrics';
import type { Config } from '../lib/config';
import { apiClient } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually, testConfig } from '../testkit/temporal';

const run = promisify(execFile);
const KEY = 'sched-test-key';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scheduledRuns(robotId: string): Promise<string[]> {
  const runs = (await call('GET', `/api/robots/${robotId}/runs`)).json.runs as any[];
  return runs.filter((r) => r.trigger === 'schedule').map((r) => r.id);
}
const actionsTaken = async (robotId: string): Promise<number> => (await call('GET', `/api/robots/${robotId}`)).json.state.actionsTaken;

async function temporalCli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.env.TEMPORAL_CLI_PATH!, [...args, '--address', env.address, '--namespace', 'default'], { timeout: 30_000 });
  return stdout;
}

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'k' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('schedules', () => {
  test('When a robot has a 2-second interval, then it runs on its own; pause stops it, resume restarts it, trigger runs now', async () => {
    const created = await call('POST', '/api/robots', {
      id: 'ticker',
      name: 'Ticker',
      role: 'Checks the feed.',
      duty: 'Check the feed for news.',
      workMode: 'autonomous',
      schedule: { every: '2s' },
    });
    expect(created.status).toBe(201);
    expect(created.json.mode).toBe('schedule');
    expect(created.json.state.paused).toBe(false);
    // Next run times come from Temporal, 2 s apart.
    const next = created.json.state.nextRunTimes.map((t: string) => Date.parse(t));
    expect(next.length).toBeGreaterThanOrEqual(3);
    expect(next[1] - next[0]).toBe(2000);

    // Runs on its own: at least two scheduled runs, done, with the robot's duty and version.
    const ids = await eventually(async () => {
      const r = await scheduledRuns('ticker');
      return r.length >= 2 ? r : undefined;
    }, 30_000);
    expect(ids.every((id) => id.startsWith('run-sched-ticker-'))).toBe(true);
    const one = await eventually(async () => {
      const r = await call('GET', `/api/runs/${ids[0]}`);
      return r.json.status === 'Done' ? r.json : undefined;
    });
    expect(one).toMatchObject({ trigger: 'schedule', task: 'Check the feed for news.', robot: { id: 'ticker', version: 1 } });
    const state = (await call('GET', '/api/robots/ticker')).json;
    expect(state.events.some((e: any) => e.type === 'schedule.run_started')).toBe(true);
    expect(state.state.recentRuns.length).toBeGreaterThanOrEqual(2);

    // Pause: no more actions.
    const paused = await call('POST', '/api/robots/ticker/schedule/pause', { note: 'maintenance' });
    expect(paused.status).toBe(200);
    expect(paused.json.state).toMatchObject({ paused: true, note: 'mc:paused: maintenance', nextRunTimes: [] });
    expect(paused.json.events.some((e: any) => e.type === 'schedule.paused')).toBe(true);
    const atPause = await actionsTaken('ticker');
    await sleep(5000);
    expect(await actionsTaken('ticker')).toBe(atPause);

    // An edit keeps the user's pause (and bumps the version).
    const edited = await call('PATCH', '/api/robots/ticker', { duty: 'Check the feed twice.' });
    expect(edited.json).toMatchObject({ version: 2, state: { paused: true } });

    // Trigger while paused: one run now.
    const trig = await call('POST', '/api/robots/ticker/schedule/trigger');
    expect(trig.status).toBe(202);
    await eventually(async () => (await actionsTaken('ticker')) === atPause + 1);
    const triggered = await eventually(async () => {
      const r = await call('GET', '/api/robots/ticker');
      const last = r.json.state.recentRuns.at(-1);
      return last && !ids.includes(last.runId) ? last.runId : undefined;
    });
    const trigRun = await eventually(async () => {
      const r = await call('GET', `/api/runs/${triggered}`);
      return r.json.status === 'Done' ? r.json : undefined;
    });
    expect(trigRun.robot.version).toBe(2);
    expect(trigRun.task).toBe('Check the feed twice.');

    // Resume: runs again on its own.
    const resumed = await call('POST', '/api/robots/ticker/schedule/resume');
    expect(resumed.json.state.paused).toBe(false);
    expect(resumed.json.state.nextRunTimes.length).toBeGreaterThan(0);
    await eventually(async () => (await actionsTaken('ticker')) >= atPause + 3, 30_000);

    // Switching to on-demand pauses the schedule.
    const onDemand = await call('PATCH', '/api/robots/ticker', { workMode: 'on_demand' });
    expect(onDemand.json).toMatchObject({ mode: 'on_demand', state: { paused: true, nextRunTimes: [] } });
    expect((await call('POST', '/api/robots/ticker/schedule/resume')).status).toBe(409);
  });

  test('When the real temporal CLI lists and describes schedules, then it shows the robot and its spec', async () => {
    await call('POST', '/api/robots', { id: 'clock', name: 'Clock', role: 'Chimes.', workMode: 'autonomous', schedule: { cron: ['30 9 * * MON-FRI'], timezone: 'Europe/Berlin' } });
    const list = await eventually(async () => {
      const out = await temporalCli('schedule', 'list');
      return out.includes('robot-clock') ? out : undefined;
    });
    expect(list).toContain('robotRunWorkflow');
    const described = await temporalCli('schedule', 'describe', '--schedule-id', 'robot-clock', '--output', 'json');
    const json = JSON.parse(described);
    const text = JSON.stringify(json);
    expect(text).toContain('Europe/Berlin');
    expect(text).toContain('robotRunWorkflow');
    // The cron expression is stored by Temporal as a structured calendar: 9:30 on Monday to Friday.
    const cal = json.schedule.spec.structuredCalendar[0];
    expect(cal.hour[0]).toMatchObject({ start: 9 });
    expect(cal.minute[0]).toMatchObject({ start: 30 });
    expect(cal.dayOfWeek[0]).toMatchObject({ start: 1, end: 5 });
  });

  test('When scheduled runs cannot keep up, then skipped actions show as events, not silence; backfill runs missed times', async () => {
    // An API on a task queue no worker polls: the first scheduled run never finishes, so later ones overlap.
    const stalledConfig = testConfig({ MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'k', MC_TASK_QUEUE: `nobody-${randomUUID()}` });
    const stalled = await startWebServer(
      { client: env.client, config: stalledConfig, credentials: resolveCredentials(stalledConfig), metrics: createMetrics({ defaultMetrics: false }) },
      { port: 0, host: '127.0.0.1' },
    );
    const callStalled = apiClient(() => stalled.url, KEY);
    try {
      await callStalled('POST', '/api/robots', { id: 'jam', name: 'Jam', role: 'Slow.', workMode: 'autonomous', schedule: { every: '1s', overlap: 'skip' } });
      const robot = await eventually(async () => {
        const r = await callStalled('GET', '/api/robots/jam');
        return r.json.state.skippedOverlap >= 2 ? r.json : undefined;
      }, 30_000);
      expect(robot.state.runningScheduledRuns).toHaveLength(1);
      const skipped = robot.events.find((e: any) => e.type === 'schedule.skipped_overlap');
      expect(skipped.count).toBeGreaterThanOrEqual(2);
      expect(skipped.message).toMatch(/skipped because the previous run was still going/);

      // Backfill a past window with overlap allowed: Temporal starts the runs for those times.
      await callStalled('POST', '/api/robots/jam/schedule/pause');
      const before = robot.state.actionsTaken;
      // A window an hour ago, before the robot existed: 5 times at 1 s intervals.
      const end = new Date(Date.now() - 3_600_000);
      const start = new Date(end.getTime() - 5000);
      const bf = await callStalled('POST', '/api/robots/jam/schedule/backfill', { start: start.toISOString(), end: end.toISOString(), overlap: 'allow_all' });
      expect(bf.status).toBe(202);
      await eventually(async () => (await callStalled('GET', '/api/robots/jam')).json.state.actionsTaken >= before + 3);
      const bad = await callStalled('POST', '/api/robots/jam/schedule/backfill', { start: end.toISOString(), end: start.toISOString() });
      expect(bad.status).toBe(400);
      expect(bad.json.error).toMatch(/^end: must be after start/);
    } finally {
      await callStalled('DELETE', '/api/robots/jam?force=true');
      await stalled.stop();
    }
  });
});
