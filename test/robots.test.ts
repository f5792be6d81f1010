/**
 * Robots as durable definitions, over HTTP against a real Temporal dev server: CRUD, validation, versions,
 * manual triggers, runs by robot id, deletion rules and the "Generate" role draft.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WebServer } from '../api/app';
import type { Config } from '../lib/config';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';

const KEY = 'robots-test-key';
let env: TestWorkflowEnvironment;
let web: WebServer;
let config: Config;
let api: TestApi;
const call = apiClient(() => web.url, KEY);

const fullRobot = {
  id: 'scout',
  name: 'Scout',
  workspace: 'research',
  workMode: 'on_demand',
  reportsTo: 'lead@example.com',
  role: 'Watches competitors and writes a weekly summary.',
  experts: [{ name: 'Analyst', provider: 'openai', model: 'gpt-4.1', temperature: 0.2 }],
  tools: ['web.search', 'postman'],
  stages: { tasks: { model: 'gpt-4.1-mini', promptAddition: 'Cite sources.' }, delivery: { agent: { name: 'Editor', instructions: 'Be brief.' } } },
  approvals: { gates: [{ at: 'delivery', timeoutSeconds: 3600, onTimeout: 'escalate' }], maxRevisions: 2 },
  budget: { maxTokens: 100000, maxCostUsd: 2.5 },
  host: { enabled: true },
  delivery: [{ type: 'email', to: 'lead@example.com' }, { type: 'webhook', url: 'https://example.com/hook' }],
  duty: 'Summarise what competitors shipped this week.',
  concurrencyLimit: 2,
  schedule: { cron: ['0 9 * * MON'], timezone: 'Europe/Berlin', jitter: '30s', catchupWindow: '10m', pauseOnFailure: true },
  webhook: { enabled: true, filters: [{ path: '$.action', equals: 'opened' }] },
};

const waitFor = runWaiter(call);
const runState = (id: string, status: string) => waitFor(id, (r) => r.status === status, 30000);

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '250', MC_WEBHOOK_KEY: 'robots-test-master-key' });
  ({ web, config } = api);
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

describe('CRUD', () => {
  test('When a robot is created, read, listed, replaced, patched and deleted over HTTP, then each step round-trips', async () => {
    const created = await call('POST', '/api/robots', fullRobot);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ ...fullRobot, version: 1, mode: 'on_demand' });
    // The secret is shown once, at creation, and never stored or shown again.
    expect(created.json.webhookSecret).toMatch(/^whsec_/);
    expect(created.json.webhookKeyId).toBeUndefined();
    expect(created.json.schedule.overlap).toBe('skip');

    const read = await call('GET', '/api/robots/scout');
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ ...fullRobot, version: 1 });
    expect(read.json.webhookSecret).toBeUndefined();
    expect(read.json.webhook.url).toBe('/hooks/scout');
    // On demand: the schedule is kept paused, so no next run times.
    expect(read.json.state).toMatchObject({ paused: true, nextRunTimes: [] });

    const listed = await eventually(async () => {
      const r = await call('GET', '/api/robots');
      return r.json.robots.find((x: any) => x.id === 'scout');
    });
    expect(listed).toMatchObject({ name: 'Scout', version: 1 });

    const { id: _id, ...fields } = fullRobot;
    const replaced = await call('PUT', '/api/robots/scout', { ...fields, name: 'Scout II', workMode: 'autonomous', tools: [] });
    expect(replaced.status).toBe(200);
    expect(replaced.json).toMatchObject({ name: 'Scout II', version: 2, workMode: 'autonomous', mode: 'schedule', tools: [] });
    expect(replaced.json.webhookSecret).toBeUndefined(); // same secret as before
    expect(replaced.json.createdAt).toBe(created.json.createdAt);
    // Autonomous with a cron schedule: active, next times computed by Temporal in the robot's time zone.
    expect(replaced.json.state.paused).toBe(false);
    expect(replaced.json.state.nextRunTimes.length).toBeGreaterThan(0);
    expect(new Date(replaced.json.state.nextRunTimes[0]).getUTCDay()).toBe(1);

    const patched = await call('PATCH', '/api/robots/scout', { role: 'Watches competitors daily.', budget: null, stages: { goals: { temperature: 0.1 } } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ version: 3, role: 'Watches competitors daily.', name: 'Scout II' });
    expect(patched.json.budget).toBeUndefined();
    expect(patched.json.stages).toEqual({ ...fullRobot.stages, goals: { temperature: 0.1 } });

    const deleted = await call('DELETE', '/api/robots/scout');
    expect(deleted.status).toBe(200);
    expect(deleted.json).toMatchObject({ id: 'scout', deleted: true });
    expect((await call('GET', '/api/robots/scout')).status).toBe(404);
    expect((await call('PATCH', '/api/robots/scout', { name: 'x' })).status).toBe(404);
  });

  test('When a robot id is taken, then creating it again is a 409', async () => {
    expect((await call('POST', '/api/robots', { id: 'twin', name: 'Twin', role: 'r' })).status).toBe(201);
    const again = await call('POST', '/api/robots', { id: 'twin', name: 'Twin', role: 'r' });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already exists/);
  });

  test('When a robot is created without an id, then it gets a whole generated one', async () => {
    const r = await call('POST', '/api/robots', { name: 'Nameless', role: 'r' });
    expect(r.status).toBe(201);
    expect(r.json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(r.json.webhookSecret).toBeUndefined();
  });
});

describe('bad input', () => {
  const base = { name: 'Bad', role: 'r' };
  test.each([
    [{ ...base, colour: 'red' }, /Unrecognized key\(s\) in object: 'colour'/],
    [{ ...base, name: 42 }, /^name: Expected string/],
    [{ role: 'r' }, /^name: Required/],
    [{ ...base, workMode: 'sometimes' }, /^workMode: /],
    [{ ...base, id: 'Has Spaces' }, /^id: /],
    [{ ...base, schedule: { cron: ['61 * * * *'] } }, /^schedule\.cron\.0: invalid cron expression: minute/],
    [{ ...base, schedule: { cron: ['* * *'] } }, /^schedule\.cron\.0: invalid cron expression: expected 5 fields/],
    [{ ...base, schedule: { cron: ['0 9 * * *'], timezone: 'Mars/Olympus' } }, /^schedule\.timezone: unknown time zone/],
    [{ ...base, schedule: { every: 'often' } }, /^schedule\.every: must be a duration/],
    [{ ...base, schedule: { every: '500ms' } }, /^schedule\.every: must be at least 1s/],
    [{ ...base, schedule: { every: '1h', catchupWindow: '1s' } }, /^schedule\.catchupWindow: must be at least 10s/],
    [{ ...base, schedule: { every: '1h', overlap: 'sometimes' } }, /^schedule\.overlap: /],
    [{ ...base, schedule: {} }, /^schedule: needs one of every, preset, cron or calendar/],
    [{ ...base, schedule: { calendar: [{ hour: 25 }] } }, /^schedule\.calendar\.0\.hour/],
    [{ ...base, schedule: { every: '1h', startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' } }, /^schedule\.endAt: must be after startAt/],
    [{ ...base, schedule: { every: '1h' }, continuous: { pause: '1s' } }, /^continuous: a robot runs either on a schedule or continuously/],
    [{ ...base, concurrencyLimit: 0 }, /^concurrencyLimit: /],
    [{ ...base, approvals: { gates: [{ at: 'lunch' }] } }, /^approvals\.gates\.0\.at: /],
    [{ ...base, budget: { maxTokens: 'lots' } }, /^budget\.maxTokens: Expected number/],
    [{ ...base, stages: { cooking: {} } }, /Unrecognized key\(s\) in object: 'cooking'/],
    [{ ...base, delivery: [{ type: 'email', to: 'not-an-email' }] }, /^delivery\.0\.to: /],
    [{ ...base, webhook: { filters: [{ path: 'action', equals: 'opened' }] } }, /^webhook\.filters\.0\.path: must be a simple JSON path/],
  ])('When POST /api/robots gets %j, then 400 names the field', async (body, message) => {
    const r = await call('POST', '/api/robots', body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(message);
    expect(Array.isArray(r.json.details)).toBe(true);
  });

  test('When PUT or PATCH carry bad fields, then 400 names them and the robot is unchanged', async () => {
    await call('POST', '/api/robots', { id: 'steady', name: 'Steady', role: 'r' });
    const put = await call('PUT', '/api/robots/steady', { name: 'Steady', role: 'r', version: 9 });
    expect(put.status).toBe(400);
    expect(put.json.error).toMatch(/Unrecognized key\(s\) in object: 'version'/);
    const patch = await call('PATCH', '/api/robots/steady', { schedule: { cron: ['0 25 * * *'] } });
    expect(patch.status).toBe(400);
    expect(patch.json.error).toMatch(/^schedule\.cron\.0: invalid cron expression: hour/);
    const tz = await call('PATCH', '/api/robots/steady', { schedule: { cron: ['0 9 * * *'], timezone: 'Nowhere/Land' } });
    expect(tz.status).toBe(400);
    expect(tz.json.error).toMatch(/^schedule\.timezone: /);
    expect((await call('GET', '/api/robots/steady')).json.version).toBe(1);
  });

  test('When a run names both an inline robot and a robotId, or an unknown robotId, then 400 / 404', async () => {
    const both = await call('POST', '/api/runs', { task: 't', robotId: 'steady', robot: { name: 'n', role: 'r' } });
    expect(both.status).toBe(400);
    expect(both.json.error).toMatch(/^robotId: /);
    const unknown = await call('POST', '/api/runs', { task: 't', robotId: 'nobody-here' });
    expect(unknown.status).toBe(404);
  });
});

describe('definition reaches the run', () => {
  test('When a robot lists tools and stage model overrides, then its runs carry exactly those and a tool it lacks is refused', async () => {
    await call('POST', '/api/robots', {
      id: 'fetcher',
      name: 'Fetcher',
      role: 'Reads pages.',
      tools: ['http_fetch'],
      stages: { goals: { model: 'custom-goals-model', temperature: 0.1, promptAddition: 'Cite the page each goal comes from.' } },
    });
    const r = await call('POST', '/api/runs', { task: 'Read the docs', robotId: 'fetcher' });
    const done = await runState(r.json.id, 'Done');
    expect(done.robot.tools).toEqual(['http_fetch']);
    expect(done.robot.routing).toEqual({ stages: { goals: { model: 'custom-goals-model', temperature: 0.1 } } });
    expect(done.robot.stageAgents).toEqual({ goals: { promptAddition: 'Cite the page each goal comes from.' } });
    // A supplied graph with a command node is refused for this robot: its definition does not list `command`.
    const refused = await call('POST', '/api/runs', {
      task: 'Run a command',
      robotId: 'fetcher',
      dag: [{ id: 'c1', title: 'List files', kind: 'command', dependsOn: [], instructions: 'ls', expectedOutput: 'a listing', args: { argv: ['ls'] } }],
    });
    const failed = await runState(refused.json.id, 'Failed');
    expect(failed.error.message).toMatch(/command.*not (allowed|listed|permitted)|may not use|not allowed/i);
  });
});

describe('versions and runs', () => {
  test('When a robot is edited while a run is in flight, then that run keeps its version and the next run uses the new one', async () => {
    // A gate before Delivery holds the first run in flight (Review) for as long as the test needs.
    const gate = { gates: [{ at: 'delivery' }] };
    await call('POST', '/api/robots', { id: 'editor', name: 'Editor', role: 'Edits drafts carefully.', duty: 'Edit the drafts.', approvals: gate });
    const first = await call('POST', '/api/robots/editor/trigger', {});
    expect(first.status).toBe(201);
    expect(first.json.robotVersion).toBe(1);
    await runState(first.json.id, 'Review');

    const edited = await call('PATCH', '/api/robots/editor', { name: 'Editor-in-chief', role: 'Rewrites drafts boldly.', approvals: { gates: [] } });
    expect(edited.json.version).toBe(2);
    expect((await call('POST', `/api/runs/${first.json.id}/approvals`, { decision: 'approve' })).status).toBe(200);

    const done = await runState(first.json.id, 'Done');
    expect(done.robot).toEqual({ id: 'editor', name: 'Editor', role: 'Edits drafts carefully.', version: 1, tools: [] });
    expect(done.task).toBe('Edit the drafts.');
    expect(done.stages[0].output.brief).toContain('Edits drafts carefully');

    const second = await call('POST', '/api/runs', { task: 'Edit this one', robotId: 'editor' });
    expect(second.status).toBe(201);
    const next = await runState(second.json.id, 'Done');
    expect(next.robot).toEqual({ id: 'editor', name: 'Editor-in-chief', role: 'Rewrites drafts boldly.', version: 2, tools: [] });
    expect(next.trigger).toBe('api');

    const runs = await eventually(async () => {
      const r = await call('GET', '/api/robots/editor/runs');
      return r.json.runs.length >= 2 ? r.json.runs : undefined;
    });
    expect(runs.map((x: any) => x.id).sort()).toEqual([first.json.id, second.json.id].sort());
    expect(runs.every((x: any) => x.robotId === 'editor')).toBe(true);
  });

  test('When a robot with a running run is deleted, then 409 names the run, and ?force=true cancels it and deletes', async () => {
    await call('POST', '/api/robots', { id: 'busy', name: 'Busy', role: 'Always busy.' });
    const run = await call('POST', '/api/robots/busy/trigger', { task: 'Keep busy' });
    await runState(run.json.id, 'Running');
    const refused = await call('DELETE', '/api/robots/busy');
    expect(refused.status).toBe(409);
    expect(refused.json.details.runningRuns).toContain(run.json.id);
    expect((await call('GET', '/api/robots/busy')).status).toBe(200);

    const forced = await call('DELETE', '/api/robots/busy?force=true');
    expect(forced.status).toBe(200);
    expect(forced.json.cancelledRuns).toContain(run.json.id);
    await runState(run.json.id, 'Cancelled');
    expect((await call('GET', '/api/robots/busy')).status).toBe(404);
  });

  test('When a role is generated from a name, then a worker drafts it with the model (offline here, and it says so)', async () => {
    const r = await call('POST', '/api/robots/generate-role', { name: 'Inbox Triage' });
    expect(r.status).toBe(200);
    expect(r.json.role).toContain('Inbox Triage');
    expect(r.json.offline).toBe(true);
    const bad = await call('POST', '/api/robots/generate-role', { title: 'x' });
    expect(bad.status).toBe(400);
  });
});
