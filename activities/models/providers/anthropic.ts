/** Anthropic through the official `@anthropic-ai/sdk` client. SDK retries are off: Temporal retries. */
import Anthropic from '@anthropic-ai/sdk';
import { systemClock } from '../../clock';
import { toTemporalFailure } from '../errors';
import { defineProvider, sdkClientOptions, type ModelCall, type ModelProvider, type ModelReply, type SdkProviderOptions } from '../types';

export type AnthropicProviderOptions = SdkProviderOptions;

export function createAnthropicProvider(opts: AnthropicProviderOptions): ModelProvider {
  const clock = opts.clock ?? systemClock;
  const client = new Anthropic(sdkClientOptions(opts));
  return {
    name: 'anthropic',
    offline: false,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = clock.now();
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
          latencyMs: clock.now() - started,
        };
      } catch (err) {
        throw toTemporalFailure(err, 'anthropic', call.signal, clock.now());
      }
    },
  };
}

export const anthropicProvider = defineProvider({
  name: 'anthropic',
  defaultModels: { large: 'claude-sonnet-4-6', fast: 'claude-haiku-4-5', vision: 'claude-sonnet-4-6' },
  create: ({ config, clock, fetch }) =>
    createAnthropicProvider({ apiKey: config.ANTHROPIC_API_KEY, baseURL: config.ANTHROPIC_BASE_URL, timeoutMs: config.MC_MODEL_TIMEOUT_MS, clock, fetch }),
});
