/**
 * The activity side of budgets. The workflow hands each model-calling activity what is left of the run's budget;
 * this guard wraps the provider so that no single request can take the recorded spend past it:
 *
 * - the prompt's tokens are over-estimated (one token per 3 characters; the offline model bills one per 4),
 * - the request's `max_tokens` is clamped to what is left after the prompt (tokens and, for priced models, cost),
 * - a request whose clamped output allowance would be under MIN_OUTPUT_TOKENS is refused before it is sent, with a
 *   non-retryable `BudgetExceeded` failure that carries the calls this guard let through and what the refused
 *   request needed. The activity runtime (../runtime.ts) adds the calls of an earlier attempt and the activity's
 *   progress, so the workflow can bill them, stop at the budget gate, and resume after a raise without paying twice.
 *
 * The guarantee holds for providers that honour `max_tokens` (OpenAI, Anthropic and the offline model do).
 */
import { ApplicationFailure } from '@temporalio/common';
import { BUDGET_EXCEEDED } from '../../contracts/gates';
import type { BudgetAllowance, BudgetExceededDetails } from '../../contracts/gates';
import type { ModelCallRecord } from '../../contracts/pipeline';
import { costOf, priceOf } from './prices';
import type { ModelRouter } from './router';
import type { ModelCall, ModelProvider } from './types';

/** The smallest answer worth asking for; below this a call is refused rather than truncated into uselessness. */
export const MIN_OUTPUT_TOKENS = 64;

export { BUDGET_EXCEEDED };
export type { BudgetExceededDetails };

/** Deliberately pessimistic prompt size: real tokenizers average about 4 characters a token on English. */
export const promptTokenCeiling = (call: Pick<ModelCall, 'system' | 'messages'>) =>
  Math.ceil((call.system.length + call.messages.reduce((n, m) => n + m.content.length + 1, 0)) / 3) + 8;

export interface BudgetGuard {
  readonly allowance: BudgetAllowance;
  /** Spend of the calls this guard let through. */
  spent(): { tokens: number; costUsd: number };
  /** A router whose provider checks every request against the allowance. */
  wrap(router: ModelRouter): ModelRouter;
  /** Calls this guard let through (a refusal carries them, so the workflow can bill them). */
  billed: ModelCallRecord[];
}

export function createBudgetGuard(allowance: BudgetAllowance): BudgetGuard {
  let tokens = 0;
  let cost = 0;
  const guard: BudgetGuard = {
    allowance,
    billed: [],
    spent: () => ({ tokens, costUsd: cost }),
    wrap(router) {
      const wrapProvider = (inner: ModelProvider): ModelProvider => ({
        name: inner.name,
        offline: inner.offline,
        async complete(call) {
          const priceModel = inner.offline ? 'offline' : call.model;
          const price = priceOf(priceModel);
          const inputTokens = promptTokenCeiling(call);
          let maxOut = call.maxTokens;
          if (allowance.remainingTokens !== undefined) maxOut = Math.min(maxOut, allowance.remainingTokens - tokens - inputTokens);
          if (allowance.remainingCostUsd !== undefined && price && price.output > 0) {
            const leftUsd = allowance.remainingCostUsd - cost - (inputTokens * price.input) / 1e6;
            maxOut = Math.min(maxOut, Math.floor((leftUsd * 1e6) / price.output));
          }
          const floor = Math.min(MIN_OUTPUT_TOKENS, call.maxTokens);
          if (maxOut < floor) {
            const details: BudgetExceededDetails = {
              calls: guard.billed,
              needed: {
                tokens: inputTokens + floor,
                costUsd: price ? ((inputTokens * price.input + floor * price.output) / 1e6) : 0,
              },
              remaining: {
                remainingTokens: allowance.remainingTokens === undefined ? undefined : allowance.remainingTokens - tokens,
                remainingCostUsd: allowance.remainingCostUsd === undefined ? undefined : allowance.remainingCostUsd - cost,
              },
            };
            throw ApplicationFailure.create({
              message: `budget: the next model request needs about ${details.needed.tokens} tokens; ${details.remaining.remainingTokens ?? '∞'} tokens / $${details.remaining.remainingCostUsd ?? '∞'} left`,
              type: BUDGET_EXCEEDED,
              nonRetryable: true,
              details: [details],
            });
          }
          const reply = await inner.complete({ ...call, maxTokens: maxOut });
          const { costUsd } = costOf(inner.offline ? 'offline' : reply.model, reply.inputTokens, reply.outputTokens);
          tokens += reply.inputTokens + reply.outputTokens;
          cost += costUsd;
          guard.billed.push({
            provider: inner.name,
            model: reply.model,
            inputTokens: reply.inputTokens,
            outputTokens: reply.outputTokens,
            costUsd,
            latencyMs: reply.latencyMs,
            offline: inner.offline,
            reason: `max_tokens ${maxOut} (budget)`,
          });
          return reply;
        },
      });
      const wrapped = wrapProvider(router.provider);
      return {
        provider: wrapped,
        route(kind, prefs) {
          return { ...router.route(kind, prefs), provider: wrapped };
        },
      };
    },
  };
  return guard;
}
