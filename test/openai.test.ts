/**
 * The OpenAI-compatible endpoint (/v1) used by the real `openai` npm client, pointed at our API on port 0 (a real
 * worker and Temporal dev server behind it, robots on the offline model): models, a plain and a streamed
 * completion, errors as the client's own exception classes, a run that parks at a gate, and a full robot.
 */
import OpenAI from 'openai';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const KEY = 'openai-test-key';
let env: TestWorkflowEnvironment;
let api: TestApi;
let openai: OpenAI;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);
const parked: string[] = [];

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY });
  // No retries: each test sees exactly one answer.
  openai = new OpenAI({ apiKey: KEY, baseURL: `${api.web.url}/v1`, maxRetries: 0 });
  for (const robot of [
    { id: 'writer', name: 'Writer', role: 'Writes short, clear summaries.' },
    { id: 'solo', name: 'Solo', role: 'Works on one thing at a time.', concurrencyLimit: 1, approvals: { gates: [{ at: 'final' }] } },
  ]) {
    expect((await call('POST', '/api/robots', robot)).status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  for (const id of parked) await call('POST', `/api/runs/${id}/cancel`).catch(() => undefined);
  await api?.stop();
  await env?.teardown();
});

test('When the client lists models, then every robot is there by its id', async () => {
  const models = await openai.models.list();
  const ids = models.data.map((m) => m.id);
  expect(ids).toEqual(expect.arrayContaining(['writer', 'solo']));
  expect(models.data.find((m) => m.id === 'writer')).toMatchObject({ object: 'model', owned_by: 'mission-control' });
});

test('When the client asks for a completion, then a run of the robot answers with its delivered result, real usage and the run id', async () => {
  const { data: completion, response } = await openai.chat.completions
    .create({
      model: 'writer',
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'You answer for the team.' },
        { role: 'user', content: 'We are preparing the quarterly review.' },
        { role: 'assistant', content: 'Understood. What should I write?' },
        { role: 'user', content: 'Write the summary of the quarterly review for the team' },
      ],
    })
    .withResponse();
  expect(completion.id).toMatch(/^run-/);
  expect(response.headers.get('x-mc-run-id')).toBe(completion.id);
  expect(completion.object).toBe('chat.completion');
  expect(completion.model).toBe('writer');
  expect(completion.usage!.total_tokens).toBeGreaterThan(0);
  const run = await waitFor(completion.id, (r) => r.status === 'Done');
  expect(completion.choices[0].message.content).toBe(run.result.content);
  expect(completion.choices[0].finish_reason).toBe('stop');
  expect(completion.usage).toEqual({ prompt_tokens: run.usage.inputTokens, completion_tokens: run.usage.outputTokens, total_tokens: run.usage.inputTokens + run.usage.outputTokens });
  // The last user message is the task; the earlier messages are the run's context.
  expect(run.task).toBe('Write the summary of the quarterly review for the team');
  expect(run.trigger).toBe('openai');
  expect(run.context.conversation.map((m: any) => m.role)).toEqual(['system', 'user', 'assistant']);
}, 60_000);

test('When the client streams a completion, then progress arrives in the extension field, the content is the delivered result, and usage comes last', async () => {
  const stream = await openai.chat.completions.create({
    model: 'writer',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'Stream the summary of the launch plan' }],
  });
  let content = '';
  let id = '';
  let usage: OpenAI.CompletionUsage | undefined;
  const progress: string[] = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    id = chunk.id;
    expect(chunk.object).toBe('chat.completion.chunk');
    content += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    const event = (chunk as unknown as { mission_control?: { event?: { type: string } } }).mission_control?.event;
    if (event) progress.push(event.type);
    if (chunk.usage) usage = chunk.usage;
  }
  expect(finish).toBe('stop');
  expect(progress).toEqual(expect.arrayContaining(['run.running', 'stage.started', 'stage.completed']));
  expect(usage!.total_tokens).toBeGreaterThan(0);
  const run = await waitFor(id, (r) => r.status === 'Done');
  expect(content).toBe(run.result.content);
}, 60_000);

test('When the key is wrong, then the client raises AuthenticationError (OpenAI\'s error shape)', async () => {
  const wrong = new OpenAI({ apiKey: 'not-a-key', baseURL: `${api.web.url}/v1`, maxRetries: 0 });
  const err = await wrong.models.list().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
});

test('When the model names no robot, then the client raises NotFoundError with model_not_found', async () => {
  const err = await openai.chat.completions.create({ model: 'nobody-here', messages: [{ role: 'user', content: 'Hello' }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
});

test('When the body is not a chat request, then it is a 400 in OpenAI\'s error shape', async () => {
  const res = await fetch(`${api.web.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{"model":"writer"}' });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ error: { message: expect.stringContaining('messages'), type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } });
  const err = await openai.chat.completions.create({ model: 'writer', messages: [{ role: 'assistant', content: 'No user here' }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.BadRequestError);
});

test('When the run stops at an approval gate, then the completion answers at once with what it waits for; a second one while it holds the robot\'s only slot raises RateLimitError', async () => {
  const first = await openai.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'Draft the announcement for review' }] });
  parked.push(first.id);
  const extra = (first as unknown as { mission_control: { status: string; gate: string } }).mission_control;
  expect(extra).toMatchObject({ status: 'Review', gate: 'final' });
  expect(first.choices[0].message.content).toContain(`POST /api/runs/${first.id}/approvals`);
  expect(first.choices[0].message.content).toContain('"gate":"final"');

  const err = await openai.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'And another one' }] }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after')).toBe('5');
}, 60_000);
