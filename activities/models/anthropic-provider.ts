/** Anthropic through the official `@anthropic-ai/sdk` client. SDK retries are off: Temporal retries. */
import Anthropic from '@anthropic-ai/sdk';
import { toTemporalFailure } from './errors';
import type { ModelCall, ModelProvider, ModelReply } from './types';

export interface AnthropicProviderOptions {
  apiKey?: string;
  baseURL?: string;
  timeoutMs: number;
}

export function createAnthropicProvider(opts: AnthropicProviderOptions): ModelProvider {
  const client = new Anthropic({
    apiKey: opts.apiKey ?? 'not-needed',
    baseURL: opts.baseURL,
    maxRetries: 0,
    timeout: opts.timeoutMs,
  });
  return {
    name: 'anthropic',
    offline: false,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = Date.now();
      try {
        const system = call.json ? `${call.system}\n\nAnswer with one JSON object and nothing else.` : call.system;
        const res = await client.messages.create(
          {
            model: call.model,
            system,
            // The current Messages API sets sampling itself; temperature from the routing table is not sent.
            max_tokens: call.maxTokens,
            messages: call.messages,
          },
          { signal: call.signal },
        );
        const text = res.content
          .filter((b): b is Anthropic.TextBlock => b.type === 'text')
          .map((b) => b.text)
          .join('');
        return {
          text,
          inputTokens: res.usage?.input_tokens ?? 0,
          outputTokens: res.usage?.output_tokens ?? 0,
          model: res.model || call.model,
          latencyMs: Date.now() - started,
        };
      } catch (err) {
        throw toTemporalFailure(err, 'anthropic', call.signal);
      }
    },
  };
}
