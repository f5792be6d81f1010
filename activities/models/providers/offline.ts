/**
 * The built-in offline model: used when no provider is configured, so the whole system runs end to end
 * anywhere. Deterministic: every caller supplies `offlineAnswer`, derived from its own input and valid for its
 * schema. An optional simulated latency (MC_OFFLINE_DELAY_MS) makes it useful for demos, cancel and crash
 * tests, and benchmarks; the wait honours the abort signal like a real HTTP request would.
 */
import { CancelledFailure } from '@temporalio/common';
import { Clock, systemClock } from '../../clock';
import { defineProvider, type ModelCall, type ModelProvider, type ModelReply } from '../types';

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

export function createOfflineProvider(opts: { delayMs: number; clock?: Clock }): ModelProvider {
  const clock = opts.clock ?? systemClock;
  return {
    name: 'offline',
    offline: true,
    async complete(call: ModelCall): Promise<ModelReply> {
      const started = clock.now();
      await abortableSleep(call.simulatedLatencyMs ?? opts.delayMs, call.signal);
      const text = call.offlineAnswer();
      const prompt = call.system + call.messages.map((m) => m.content).join('\n');
      return {
        text,
        inputTokens: estimateTokens(prompt),
        outputTokens: estimateTokens(text),
        model: OFFLINE_MODEL,
        latencyMs: clock.now() - started,
      };
    },
  };
}

export const offlineProvider = defineProvider({
  name: 'offline',
  // The offline model answers every tier itself.
  defaultModels: { large: OFFLINE_MODEL, fast: OFFLINE_MODEL, vision: OFFLINE_MODEL },
  create: ({ config, clock }) => createOfflineProvider({ delayMs: config.MC_OFFLINE_DELAY_MS, clock }),
});
