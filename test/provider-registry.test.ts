/**
 * The model provider registry (activities/models/providers): one entry per MC_MODEL_PROVIDER value, the router's
 * default models coming from each provider's own file, and the injected clock and fetch reaching the real SDKs
 * (which talk to the local fake server through that fetch). No Temporal server needed.
 */
import { createActivityDeps } from '../activities';
import { createProvider, getProvider, PROVIDERS } from '../activities/models/providers';
import { OFFLINE_MODEL } from '../activities/models/providers/offline';
import { EnvSchema, loadConfig, selectProvider } from '../lib/config';
import { FakeLlm, startFakeLlm } from './helpers/fake-llm';

let llm: FakeLlm;

beforeAll(async () => {
  llm = await startFakeLlm(() => ({ content: 'pong', usage: { input: 12, output: 3 } }));
});

afterAll(async () => {
  await llm?.close();
});

const call = () => ({
  model: 'm',
  system: 'Answer in one word.',
  messages: [{ role: 'user' as const, content: 'ping' }],
  temperature: 0,
  maxTokens: 16,
  json: false,
  signal: new AbortController().signal,
  offlineAnswer: () => 'offline pong',
});

describe('the provider registry', () => {
  test('When the registry is listed, then it holds exactly the providers MC_MODEL_PROVIDER can name, each under its own name', () => {
    const configurable = EnvSchema.shape.MC_MODEL_PROVIDER.removeDefault().options.filter((p) => p !== 'auto');
    expect(Object.keys(PROVIDERS).sort()).toEqual([...configurable].sort());
    for (const [key, definition] of Object.entries(PROVIDERS)) {
      expect(definition.name).toBe(key);
      expect(Object.keys(definition.defaultModels).sort()).toEqual(['fast', 'large', 'vision']);
    }
  });

  test.each([
    ['offline', {}, { large: OFFLINE_MODEL, fast: OFFLINE_MODEL }],
    ['openai', { OPENAI_API_KEY: 'k' }, { large: 'gpt-4.1', fast: 'gpt-4.1-mini' }],
    ['openai-compatible', { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' }, { large: 'llama3.1', fast: 'llama3.1' }],
    ['anthropic', { ANTHROPIC_API_KEY: 'k' }, { large: 'claude-sonnet-4-6', fast: 'claude-haiku-4-5' }],
  ])('When the configuration selects %s, then the worker\'s router uses it with the default models of its registry entry', (name, env, models) => {
    const config = loadConfig(env);
    expect(selectProvider(config)).toBe(name);
    const { router } = createActivityDeps(config);
    expect(router.provider.name).toBe(name);
    expect(router.route('plan').model).toBe(models.large);
    expect(router.route('text').model).toBe(models.fast);
    expect(router.route('plan').model).toBe(getProvider(name)!.defaultModels.large);
  });

  test('When an unknown provider is asked for, then the error names the known ones', () => {
    expect(getProvider('toString')).toBeUndefined();
    expect(() => createProvider('mistral', { config: loadConfig({}) })).toThrow(/unknown model provider "mistral" \(known: offline, openai, openai-compatible, anthropic\)/);
  });

  test.each([
    ['openai', (l: FakeLlm) => ({ MC_MODEL_PROVIDER: 'openai', OPENAI_BASE_URL: l.openaiBaseUrl, OPENAI_API_KEY: 'k' })],
    ['openai-compatible', (l: FakeLlm) => ({ OPENAI_BASE_URL: l.openaiBaseUrl })],
    ['anthropic', (l: FakeLlm) => ({ ANTHROPIC_BASE_URL: l.anthropicBaseUrl, ANTHROPIC_API_KEY: 'k' })],
  ])('When the %s provider is built with an injected fetch and clock, then its SDK sends through that fetch and latency comes from that clock', async (name, env) => {
    const seen: string[] = [];
    const recordingFetch: typeof fetch = (input, init) => {
      seen.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    };
    let t = 0;
    const clock = { now: () => (t += 250) };
    const before = llm.calls.length;
    const provider = createProvider(name, { config: loadConfig(env(llm)), fetch: recordingFetch, clock });
    const reply = await provider.complete(call());

    expect(provider.name).toBe(name);
    expect(reply).toMatchObject({ text: 'pong', inputTokens: 12, outputTokens: 3, latencyMs: 250 });
    expect(seen).toHaveLength(1);
    expect(seen[0].startsWith(llm.url)).toBe(true);
    expect(llm.calls.length - before).toBe(1);
  });

  test('When the offline provider is built with an injected clock, then its latency comes from that clock', async () => {
    let t = 0;
    const provider = createProvider('offline', { config: loadConfig({}), clock: { now: () => (t += 40) } });
    expect(await provider.complete(call())).toMatchObject({ text: 'offline pong', model: OFFLINE_MODEL, latencyMs: 40 });
  });
});
