/**
 * The built-in offline model: used when no provider is configured, so the whole system runs end to end
 * anywhere. Deterministic: every caller supplies `offlineAnswer`, derived from its own input and valid for its
 * schema. An optional simulated latency (MC_OFFLINE_DELAY_MS) makes it useful for demos, cancel and crash
 * tests, and benchmarks; the wait honours the abort signal like a real HTTP request would.
 */
import { CancelledFailure } from '@temporalio/common';
import type { ModelCall, ModelProvider, ModelReply } from './types';

export const OFFLINE_MODEL = 'offline-deterministic-1';

/** Rough token count (4 characters a token), so usage and budgets behave plausibly offline. */
export const estimateTokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return signal.aborted ? Promise.reject(new CancelledFailure('aborted')) : Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledFailure('aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledFailure('offline call aborted: activity cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createOfflineProvider(opts: { delayMs: number }): ModelProvider {
  return {
    name: 'offline',
    offline: true,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = Date.now();
      await abortableSleep(call.simulatedLatencyMs ?? opts.delayMs, call.signal);
      const text = call.offlineAnswer();
      const prompt = call.system + call.messages.map((m) => m.content).join('\n');
      return {
        text,
        inputTokens: estimateTokens(prompt),
        outputTokens: estimateTokens(text),
        model: OFFLINE_MODEL,
        latencyMs: Date.now() - started,
      };
    },
  };
}
