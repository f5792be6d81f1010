/**
 * Model routing: which provider, model and temperature serve each kind of work. One table, overridable by
 * environment (MC_MODEL_LARGE / MC_MODEL_FAST) and, later, per robot and stage. The choice and its reason are
 * recorded on every call.
 */
import type { Config } from '../../lib/config';
import { createAnthropicProvider } from './anthropic-provider';
import { createOfflineProvider, OFFLINE_MODEL } from './offline-provider';
import { createOpenAIProvider } from './openai-provider';
import type { ModelProvider } from './types';

/** Kinds of model work. Stages and (later) DAG nodes name one of these. */
export const WORK_KINDS = ['brief', 'plan', 'text', 'extract', 'synthesize', 'validate', 'format', 'vision'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

type Tier = 'large' | 'fast';

/** Why each kind goes where it goes: planning, synthesis and judgement get the large model; formatting is fast. */
export const ROUTING_TABLE: Record<WorkKind, { tier: Tier; temperature: number; maxTokens: number }> = {
  brief: { tier: 'large', temperature: 0.7, maxTokens: 1200 },
  plan: { tier: 'large', temperature: 0.2, maxTokens: 2000 },
  text: { tier: 'fast', temperature: 0.5, maxTokens: 1500 },
  extract: { tier: 'fast', temperature: 0, maxTokens: 1500 },
  synthesize: { tier: 'large', temperature: 0.3, maxTokens: 2500 },
  validate: { tier: 'large', temperature: 0, maxTokens: 1500 },
  format: { tier: 'fast', temperature: 0.2, maxTokens: 2500 },
  vision: { tier: 'large', temperature: 0.2, maxTokens: 1500 },
};

const DEFAULT_MODELS: Record<string, Record<Tier, string>> = {
  openai: { large: 'gpt-4.1', fast: 'gpt-4.1-mini' },
  anthropic: { large: 'claude-sonnet-4-6', fast: 'claude-haiku-4-5' },
  'openai-compatible': { large: 'llama3.1', fast: 'llama3.1' },
  offline: { large: OFFLINE_MODEL, fast: OFFLINE_MODEL },
};

export interface Route {
  provider: ModelProvider;
  model: string;
  temperature: number;
  maxTokens: number;
  reason: string;
}

export interface ModelRouter {
  readonly provider: ModelProvider;
  route(kind: WorkKind): Route;
}

/** Provider registry: one line per provider. */
const PROVIDERS: Record<string, (c: Config) => ModelProvider> = {
  offline: (c) => createOfflineProvider({ delayMs: c.MC_OFFLINE_DELAY_MS }),
  openai: (c) => createOpenAIProvider({ apiKey: c.OPENAI_API_KEY, baseURL: c.OPENAI_BASE_URL, timeoutMs: c.MC_MODEL_TIMEOUT_MS }),
  'openai-compatible': (c) =>
    createOpenAIProvider({
      name: 'openai-compatible',
      apiKey: c.OPENAI_API_KEY,
      baseURL: c.OPENAI_BASE_URL,
      timeoutMs: c.MC_MODEL_TIMEOUT_MS,
    }),
  anthropic: (c) =>
    createAnthropicProvider({ apiKey: c.ANTHROPIC_API_KEY, baseURL: c.ANTHROPIC_BASE_URL, timeoutMs: c.MC_MODEL_TIMEOUT_MS }),
};

/** Which provider the configuration selects: explicit, or the first one with credentials, else offline. */
export function selectProvider(c: Config): string {
  if (c.MC_MODEL_PROVIDER !== 'auto') return c.MC_MODEL_PROVIDER;
  if (c.ANTHROPIC_API_KEY) return 'anthropic';
  if (c.OPENAI_API_KEY) return c.OPENAI_BASE_URL ? 'openai-compatible' : 'openai';
  if (c.OPENAI_BASE_URL) return 'openai-compatible';
  return 'offline';
}

export function createModelRouter(c: Config, provider: ModelProvider = PROVIDERS[selectProvider(c)](c)): ModelRouter {
  const defaults = DEFAULT_MODELS[provider.name] ?? DEFAULT_MODELS['openai-compatible'];
  const models: Record<Tier, string> = provider.offline
    ? defaults
    : { large: c.MC_MODEL_LARGE ?? defaults.large, fast: c.MC_MODEL_FAST ?? c.MC_MODEL_LARGE ?? defaults.fast };
  return {
    provider,
    route(kind) {
      const entry = ROUTING_TABLE[kind];
      return {
        provider,
        model: models[entry.tier],
        temperature: entry.temperature,
        maxTokens: entry.maxTokens,
        reason: `${kind} → ${entry.tier} tier (${provider.name})`,
      };
    },
  };
}
