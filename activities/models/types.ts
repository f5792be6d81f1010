/**
 * The one interface every model provider implements, and how a provider joins the registry (./providers). Stages
 * never talk to an SDK directly: they ask the router for a route and call `complete` (or `generateStructured` on
 * top of it).
 */
import type { ModelTier } from '../../contracts/pipeline';
import type { Config } from '../../lib/config';
import type { Clock } from '../clock';

/** One request to a chat model. */
export interface ModelCall {
  model: string;
  system: string;
  /** The conversation so far; the last message is the user's. */
  messages: { role: 'user' | 'assistant'; content: string }[];
  temperature: number;
  maxTokens: number;
  /** Ask for a JSON object answer. */
  json: boolean;
  /** Aborts the HTTP request (wired to the activity's cancellation signal). */
  signal: AbortSignal;
  /**
   * What the offline model answers. Every caller provides a deterministic answer derived from its input, so the
   * whole pipeline runs without a provider. Real providers ignore it.
   */
  offlineAnswer: () => string;
  /**
   * Offline model only: simulated latency of this call in milliseconds, instead of MC_OFFLINE_DELAY_MS (a task
   * graph node's `simulatedLatencyMs`). Real providers ignore it.
   */
  simulatedLatencyMs?: number;
}

export interface ModelReply {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** The model that actually answered, as the provider reports it. */
  model: string;
  latencyMs: number;
}

export interface ModelProvider {
  /** Registry name (a key of ./providers/index.ts). */
  readonly name: string;
  readonly offline: boolean;
  complete(call: ModelCall): Promise<ModelReply>;
}

/** What a provider is built from: the configuration, and the clock and HTTP client it must use. */
export interface ProviderDeps {
  config: Config;
  clock?: Clock;
  /** HTTP client handed to the provider's SDK (the SDK's default, the global fetch, when absent). */
  fetch?: typeof fetch;
}

/** One entry of the provider registry: its name, its default model per tier, and how to build it. */
export interface ProviderDefinition {
  name: string;
  /** Model of each routing tier when MC_MODEL_LARGE / MC_MODEL_FAST / MC_MODEL_VISION do not say. */
  defaultModels: Record<ModelTier, string>;
  create(deps: ProviderDeps): ModelProvider;
}

/** Typed helper for provider files. */
export const defineProvider = (provider: ProviderDefinition): ProviderDefinition => provider;

/** Options of a provider built on an official SDK client (`openai`, `@anthropic-ai/sdk`). */
export interface SdkProviderOptions {
  apiKey?: string;
  baseURL?: string;
  timeoutMs: number;
  clock?: Clock;
  /** HTTP client of the SDK (its default when absent). */
  fetch?: typeof fetch;
}

/**
 * What both SDK clients are built with: SDK retries off (Temporal retries the activity, see ./errors.ts), our
 * timeout, the injected fetch; local servers often need no key, and the SDKs insist on a non-empty one.
 */
export const sdkClientOptions = (o: SdkProviderOptions) => ({
  apiKey: o.apiKey ?? 'not-needed',
  baseURL: o.baseURL,
  maxRetries: 0,
  timeout: o.timeoutMs,
  ...(o.fetch ? { fetch: o.fetch } : {}),
});
