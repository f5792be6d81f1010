/**
 * OpenAI through the official `openai` client; OpenAI-compatible servers reuse it (./openai-compatible.ts). SDK
 * retries are off: Temporal retries the activity instead (see ../errors.ts).
 */
import OpenAI from 'openai';
import { systemClock } from '../../clock';
import { toTemporalFailure } from '../errors';
import { defineProvider, sdkClientOptions, type ModelCall, type ModelProvider, type ModelReply, type SdkProviderOptions } from '../types';

export interface OpenAIProviderOptions extends SdkProviderOptions {
  /** Registry name reported on every call (`openai`, or `openai-compatible`). */
  name?: string;
}

export function createOpenAIProvider(opts: OpenAIProviderOptions): ModelProvider {
  const name = opts.name ?? 'openai';
  const clock = opts.clock ?? systemClock;
  const client = new OpenAI(sdkClientOptions(opts));
  return {
    name,
    offline: false,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = clock.now();
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
          latencyMs: clock.now() - started,
        };
      } catch (err) {
        throw toTemporalFailure(err, name, call.signal, clock.now());
      }
    },
  };
}

export const openaiProvider = defineProvider({
  name: 'openai',
  defaultModels: { large: 'gpt-4.1', fast: 'gpt-4.1-mini', vision: 'gpt-4.1' },
  create: ({ config, clock, fetch }) =>
    createOpenAIProvider({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.MC_MODEL_TIMEOUT_MS, clock, fetch }),
});
