/**
 * OpenAI and any OpenAI-compatible server (Ollama, vLLM, LM Studio, OpenRouter) through the official `openai`
 * client. SDK retries are off: Temporal retries the activity instead (see errors.ts).
 */
import OpenAI from 'openai';
import { toTemporalFailure } from './errors';
import type { ModelCall, ModelProvider, ModelReply } from './types';

export interface OpenAIProviderOptions {
  name?: string;
  apiKey?: string;
  baseURL?: string;
  timeoutMs: number;
}

export function createOpenAIProvider(opts: OpenAIProviderOptions): ModelProvider {
  const name = opts.name ?? 'openai';
  const client = new OpenAI({
    // OpenAI-compatible local servers often need no key; the SDK insists on a non-empty one.
    apiKey: opts.apiKey ?? 'not-needed',
    baseURL: opts.baseURL,
    maxRetries: 0,
    timeout: opts.timeoutMs,
  });
  return {
    name,
    offline: false,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = Date.now();
      try {
        const res = await client.chat.completions.create(
          {
            model: call.model,
            temperature: call.temperature,
            max_tokens: call.maxTokens,
            messages: [{ role: 'system', content: call.system }, ...call.messages],
            ...(call.json ? { response_format: { type: 'json_object' as const } } : {}),
          },
          { signal: call.signal },
        );
        return {
          text: res.choices[0]?.message?.content ?? '',
          inputTokens: res.usage?.prompt_tokens ?? 0,
          outputTokens: res.usage?.completion_tokens ?? 0,
          model: res.model || call.model,
          latencyMs: Date.now() - started,
        };
      } catch (err) {
        throw toTemporalFailure(err, name, call.signal);
      }
    },
  };
}
