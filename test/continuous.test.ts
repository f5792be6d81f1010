/**
 * Continuous mode: a robot that always runs, one cycle after another, as a long-lived workflow loop that
 * continues-as-new, picks up edits for the next cycle, stops on pause/cancel and restarts on resume.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { apiClient } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'cont-test-key';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function continuousRuns(robotId: string): Promise<any[]> {
  return ((await call('GET', `/api/robots/${robotId}/runs`)).json.runs as any[]).filter((r) => r.trigger === 'continuous');
}

beforeAll(async () => {
  env = await createTestEnv();
  // A tiny history budget forces the loop to continue-as-new every couple of cycles.
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'k', MC_CONTINUOUS_MAX_HISTORY: '20' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('continuous mode', () => {
  test('When a robot runs continuously, then it runs cycle after cycle, continues-as-new, takes edits, stops on pause and restarts on resume', async () => {
    const created = await call('POST', '/api/robots', {
      id: 'monitor',
      name: 'Monitor',
      role: 'Watches the status page.',
      duty: 'Check the status page.',
      workMode: 'autonomous',
      continuous: { pause: '1s' },
    });
    expect(created.status).toBe(201);
    expect(created.json.mode).toBe('continuous');

    // Several cycles, and at least one continue-as-new (generation counts them; Temporal shows a new run id).
    const state = await eventually(async () => {
      const r = await call('GET', '/api/robots/monitor');
      const c = r.json.state.continuous?.state;
      return c && c.cycles >= 4 && c.generation >= 1 ? r.json.state.continuous : undefined;
    }, 60_000);
    expect(state).toMatchObject({ workflowId: 'robot-continuous-monitor', status: 'RUNNING' });
    const handle = env.client.workflow.getHandle('robot-continuous-monitor');
    const current = await handle.describe();
    const executions: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = 'robot-continuous-monitor'` })) executions.push(wf.status.name);
    expect(executions.filter((s) => s === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);
    // The current run's history stays small however many cycles have run.
    expect(current.historyLength).toBeLessThan(60);

    const runs = await eventually(async () => {
      const r = await continuousRuns('monitor');
      return r.filter((x) => x.status === 'Done').length >= 3 ? r : undefined;
    });
    const done = (await call('GET', `/api/runs/${runs.find((r: any) => r.status === 'Done').id}`)).json;
    expect(done).toMatchObject({ trigger: 'continuous', task: 'Check the status page.', robot: { id: 'monitor', version: 1 } });

    // An edit reaches the loop; the following cycles run the new version.
    await call('PATCH', '/api/robots/monitor', { duty: 'Check the status page and the error rate.' });
    const v2 = await eventually(async () => {
      for (const r of await continuousRuns('monitor')) {
        const s = (await call('GET', `/api/runs/${r.id}`)).json;
        if (s.robot?.version === 2 && s.status === 'Done') return s;
      }
      return undefined;
    }, 30_000);
    expect(v2.task).toBe('Check the status page and the error rate.');

    // Pause cancels the loop (and its cycle in flight); no new cycles start.
    const paused = await call('POST', '/api/robots/monitor/schedule/pause');
    expect(paused.status).toBe(200);
    await eventually(async () => (await handle.describe()).status.name === 'CANCELLED');
    const count = (await continuousRuns('monitor')).length;
    await sleep(2500);
    expect((await continuousRuns('monitor')).length).toBe(count);
    expect((await continuousRuns('monitor')).every((r) => r.status !== 'Running' && r.status !== 'Pending')).toBe(true);

    // Resume restarts it, keeping the robot's latest version.
    await call('POST', '/api/robots/monitor/schedule/resume');
    await eventually(async () => (await continuousRuns('monitor')).length > count + 1, 30_000);
    expect((await call('GET', '/api/robots/monitor')).json.state.continuous.status).toBe('RUNNING');

    // Switching to on demand stops the loop.
    await call('PATCH', '/api/robots/monitor', { workMode: 'on_demand' });
    await eventually(async () => (await handle.describe()).status.name === 'CANCELLED');
  });
});
