/**
 * The one interface every model provider implements. Stages never talk to an SDK directly: they ask the
 * router for a route and call `complete` (or `generateStructured` on top of it).
 */

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
  /** Registry name: offline, openai, anthropic, openai-compatible. */
  readonly name: string;
  readonly offline: boolean;
  complete(call: ModelCall): Promise<ModelReply>;
}
