/**
 * startRun without HTTP (as the OpenAI-compatible endpoint and chat platforms will call it), against a real
 * Temporal dev server and worker: what a run carries from the start, idempotent starts, domain errors, and the
 * same input, memo and search attributes as a robot's schedule action.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { defaultPayloadConverter } from '@temporalio/common';
import { createUseCases, type UseCases } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { AlreadyStarted, InvalidInput, NotFound } from '../api/errors';
import { runInputFor } from '../api/use-cases/start-run';
import { DEFAULT_ROBOT } from '../api/use-cases/run-input';
import { McRobotId, McStatus, McTrigger } from '../contracts/search-attributes';
import type { StoredRobot } from '../contracts/robot';
import type { Config } from '../lib/config';
import { createMetrics } from '../lib/metrics';
import { createTestEnv, eventually, startTestWorker, testConfig } from '../testkit/temporal';

let env: TestWorkflowEnvironment;
let config: Config;
let worker: Worker;
let workerDone: Promise<void>;
let useCases: UseCases;

beforeAll(async () => {
  env = await createTestEnv();
  config = testConfig({ MC_API_KEYS: 'start-run-key', MC_WEBHOOK_KEY: 'start-run-master' });
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
  useCases = createUseCases({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) });
});

afterAll(async () => {
  await useCases?.watcher.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

/** What a run was started with (input, memo, search attributes), from the first event of its history. */
async function startEvent(id: string): Promise<{ input: any; memo: Record<string, unknown>; searchAttributes: Record<string, unknown> }> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  const started = history.events![0].workflowExecutionStartedEventAttributes!;
  const decode = (fields: Record<string, unknown> | null | undefined) =>
    Object.fromEntries(Object.entries(fields ?? {}).map(([k, p]) => [k, defaultPayloadConverter.fromPayload(p as any)]));
  return {
    input: defaultPayloadConverter.fromPayload(started.input!.payloads![0] as any),
    memo: decode(started.memo?.fields),
    searchAttributes: decode(started.searchAttributes?.indexedFields),
  };
}

test('When startRun is called without HTTP, then the run is listable at once from its search attributes and memo, and reaches Done', async () => {
  const started = await useCases.startRun({ trigger: 'chat', task: 'Say hello from a chat platform' });
  expect(started).toMatchObject({ status: 'Pending', task: 'Say hello from a chat platform', robotVersion: 0 });
  expect(started.id).toMatch(/^run-[0-9a-f-]{36}$/);
  const desc = await env.client.workflow.getHandle(started.id).describe();
  expect(desc.typedSearchAttributes.get(McTrigger)).toBe('chat');
  expect(desc.typedSearchAttributes.get(McRobotId)).toBe(DEFAULT_ROBOT.id);
  expect(['Pending', 'Running', 'Done']).toContain(desc.typedSearchAttributes.get(McStatus));
  expect((desc.memo as any).run).toMatchObject({ task: 'Say hello from a chat platform', robotName: DEFAULT_ROBOT.name });
  const done = await eventually(async () => {
    const run = await useCases.runs.get(started.id);
    return run.status === 'Done' ? run : undefined;
  }, 30_000);
  expect(done.trigger).toBe('chat');
});

test('When startRun is given the same run id twice, then one run starts and the second call names it', async () => {
  const first = await useCases.startRun({ trigger: 'chat', task: 'Answer message 42', runId: 'run-chat-42' });
  expect(first.id).toBe('run-chat-42');
  const again = useCases.startRun({ trigger: 'chat', task: 'Answer message 42', runId: 'run-chat-42' });
  await expect(again).rejects.toBeInstanceOf(AlreadyStarted);
  await expect(again).rejects.toMatchObject({ runId: 'run-chat-42' });
});

test('When startRun names an unknown robot or gives the built-in robot no task, then it throws the domain error', async () => {
  await expect(useCases.startRun({ trigger: 'chat', robot: { id: 'nobody' } })).rejects.toBeInstanceOf(NotFound);
  await expect(useCases.startRun({ trigger: 'chat' })).rejects.toBeInstanceOf(InvalidInput);
});

test('When a stored robot runs through startRun, then its input, memo and search attributes are those of its schedule action', async () => {
  await useCases.robots.create({ id: 'twin-check', name: 'Twin check', role: 'Compares starts.', duty: 'Compare.', workMode: 'autonomous', schedule: { every: '1h' }, budget: { maxTokens: 50_000 } });
  const action = (await env.client.schedule.getHandle('robot-twin-check').describe()).action;
  if (action.type !== 'startWorkflow') throw new Error('not a workflow action');
  const started = await useCases.startRun({ trigger: 'schedule', robot: { id: 'twin-check' } });
  const { input, memo, searchAttributes } = await startEvent(started.id);
  const { requestedAt, ...rest } = input;
  expect(typeof requestedAt).toBe('string');
  expect(rest).toEqual(action.args![0]);
  expect(memo.run).toEqual((action.memo as any).run);
  const scheduled = action.typedSearchAttributes as { get(key: unknown): unknown };
  expect(searchAttributes).toEqual({ McStatus: scheduled.get(McStatus), McRobotId: scheduled.get(McRobotId), McTrigger: scheduled.get(McTrigger) });
  expect(searchAttributes).toEqual({ McStatus: 'Pending', McRobotId: 'twin-check', McTrigger: 'schedule' });
  await env.client.workflow.getHandle(started.id).cancel();
});

describe('runInputFor', () => {
  const robot: StoredRobot = {
    id: 'writer',
    name: 'Writer',
    role: 'Writes.',
    workspace: 'default',
    workMode: 'on_demand',
    experts: [],
    tools: [],
    stages: {},
    delivery: [],
    duty: 'Write the weekly note.',
    host: { enabled: true },
    budget: { maxTokens: 1000 },
    version: 3,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
  };
  const at = '2030-01-02T00:00:00.000Z';

  test('When the deployment has a desktop queue, then every run it starts routes command nodes there, whatever the trigger', () => {
    for (const trigger of ['api', 'webhook', 'compound', 'chat'] as const) {
      expect(runInputFor({ trigger, robot: { stored: robot } }, robot, { MC_DESKTOP_QUEUE: 'desk-1' }, at).options).toEqual({ desktopQueue: 'desk-1' });
    }
    expect(runInputFor({ trigger: 'api', task: 't' }, undefined, { MC_DESKTOP_QUEUE: undefined }, at).options).toBeUndefined();
  });

  test('When a command carries its own control, then it wins over the robot\'s; otherwise the robot\'s settings and duty apply', () => {
    const own = runInputFor({ trigger: 'api', task: 'Write now', budget: { maxTokens: 5 }, host: false, options: { dagParallelism: 2 } }, robot, {}, at);
    expect(own).toMatchObject({ task: 'Write now', budget: { maxTokens: 5 }, host: undefined, options: { dagParallelism: 2 }, requestedAt: at });
    expect(own.robot).toMatchObject({ id: 'writer', version: 3 });
    const plain = runInputFor({ trigger: 'api' }, robot, {}, at);
    expect(plain).toMatchObject({ task: 'Write the weekly note.', budget: { maxTokens: 1000 }, host: { enabled: true } });
    // The Robot Host is for manual runs only.
    expect(runInputFor({ trigger: 'webhook' }, robot, {}, at).host).toBeUndefined();
    expect(runInputFor({ trigger: 'api', task: 't', robot: { inline: { name: 'Poet', role: 'Rhymes' } } }, undefined, {}, at).robot).toEqual({ id: 'adhoc', name: 'Poet', role: 'Rhymes', version: 0 });
  });
});
