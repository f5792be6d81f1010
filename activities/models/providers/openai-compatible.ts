/**
 * Any OpenAI-compatible server (Ollama, vLLM, LM Studio, OpenRouter) at OPENAI_BASE_URL, through the same `openai`
 * client as OpenAI itself; only the name on the call records and the default models differ.
 */
import { defineProvider } from '../types';
import { createOpenAIProvider } from './openai';

export const openaiCompatibleProvider = defineProvider({
  name: 'openai-compatible',
  defaultModels: { large: 'llama3.1', fast: 'llama3.1', vision: 'llama3.2-vision' },
  create: ({ config, clock, fetch }) =>
    createOpenAIProvider({
      name: 'openai-compatible',
      apiKey: config.OPENAI_API_KEY,
      baseURL: config.OPENAI_BASE_URL,
      timeoutMs: config.MC_MODEL_TIMEOUT_MS,
      clock,
      fetch,
    }),
});
