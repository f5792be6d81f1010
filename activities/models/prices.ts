/**
 * USD per million tokens, by model name prefix (longest prefix wins). Unknown models cost 0 and are
 * reported as unpriced in the call record's reason, never guessed.
 */
const PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5': { input: 1.25, output: 10 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-haiku-4': { input: 1, output: 5 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-opus-4': { input: 15, output: 75 },
  offline: { input: 0, output: 0 },
};

/** Price per million tokens of a model (longest matching prefix), undefined when unknown. */
export function priceOf(model: string): { input: number; output: number } | undefined {
  const key = Object.keys(PRICES)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  return key ? PRICES[key] : undefined;
}

/** Cost in USD of one call, rounded to a millionth of a dollar; `priced` is false for unknown models. */
export function costOf(model: string, inputTokens: number, outputTokens: number): { costUsd: number; priced: boolean } {
  const key = Object.keys(PRICES)
    .filter((prefix) => model.startsWith(prefix))
    .sort((a, b) => b.length - a.length)[0];
  if (!key) return { costUsd: 0, priced: false };
  const p = PRICES[key];
  const cost = (inputTokens * p.input + outputTokens * p.output) / 1_000_000;
  return { costUsd: Math.round(cost * 1e6) / 1e6, priced: true };
}
