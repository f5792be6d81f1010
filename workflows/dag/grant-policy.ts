/**
 * How the task graph shares a run's budget among its model-calling activities — the pure part of ./grants.ts,
 * kept apart so it can be tested without a workflow: given what is left, the requests waiting and what is in
 * flight, does the first request get a grant (and how much), wait for budget to come back, or go to the gate?
 */
import type { BudgetAllowance, BudgetNeed } from '../../contracts/gates';

export const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;

/** Whether `need` fits in `left` (a cap absent from `left` does not limit). */
export const fits = (need: BudgetNeed, left: BudgetAllowance) =>
  (left.remainingTokens === undefined || need.tokens <= left.remainingTokens) &&
  (left.remainingCostUsd === undefined || need.costUsd <= left.remainingCostUsd);

/** What is left of the run's budget minus the grants in flight. */
export function available(left: BudgetAllowance, grants: Iterable<BudgetAllowance>): BudgetAllowance {
  let tokens = left.remainingTokens;
  let cost = left.remainingCostUsd;
  for (const g of grants) {
    if (tokens !== undefined) tokens -= g.remainingTokens ?? 0;
    if (cost !== undefined) cost = roundUsd(cost - (g.remainingCostUsd ?? 0));
  }
  return { remainingTokens: tokens, remainingCostUsd: cost };
}

export interface GrantQuestion {
  /** What is left after the grants in flight (see `available`). */
  left: BudgetAllowance;
  /** Requests waiting, the first of which is served. */
  waiting: number;
  /** Whether any grant is in flight (budget may come back). */
  inFlight: boolean;
  /** What the first request's refused model request needed, if it was refused before. */
  needed?: BudgetNeed;
  /** With nothing in flight, the budget gate has already let this request through once. */
  checked?: boolean;
  /** What the latest refused request of the graph needed. */
  lastRefused: BudgetNeed;
  /** The run's expected step (the average of its model-calling steps). */
  expected: BudgetNeed;
}

export type GrantAnswer = { grant: BudgetAllowance } | { wait: 'in-flight' } | { wait: 'gate' };

/**
 * First come first served: a request gets an equal share of what is left among the requests waiting (a refused
 * one at least what its refused request needed); while the first cannot be served, the others wait behind it,
 * until activities in flight give back what they did not spend. With nothing in flight, the run's budget gate
 * decides: the request goes through once the gate has let it (`checked`), or waits for a person.
 *
 * @example
 * decideGrant({ left: { remainingTokens: 1000 }, waiting: 2, inFlight: true, lastRefused: { tokens: 0, costUsd: 0 }, expected: { tokens: 100, costUsd: 0 } })
 * // → { grant: { remainingTokens: 500, remainingCostUsd: undefined } }
 */
export function decideGrant(q: GrantQuestion): GrantAnswer {
  const { left } = q;
  const share: BudgetAllowance = {
    remainingTokens: left.remainingTokens === undefined ? undefined : Math.floor(left.remainingTokens / q.waiting),
    remainingCostUsd: left.remainingCostUsd === undefined ? undefined : Math.floor((left.remainingCostUsd * 1e6) / q.waiting) / 1e6,
  };
  // A refused request wants what it needed; another at least what the latest refused one needed (the guard's real
  // threshold: its prompt plus a minimal answer) and the run's expected step, so that a tight budget runs nodes one
  // after another instead of splitting into shares too small for any of them.
  const want: BudgetNeed = q.needed ?? {
    tokens: Math.max(q.lastRefused.tokens, q.expected.tokens),
    costUsd: Math.max(q.lastRefused.costUsd, q.expected.costUsd),
  };
  const positive = (left.remainingTokens ?? 1) > 0 && (left.remainingCostUsd ?? 1) > 0;
  const ok = q.needed || q.inFlight ? positive && fits(want, left) : !!q.checked;
  if (ok) {
    return {
      grant: {
        remainingTokens:
          left.remainingTokens === undefined ? undefined : Math.min(left.remainingTokens, Math.max(share.remainingTokens ?? 0, Math.ceil(want.tokens))),
        remainingCostUsd:
          left.remainingCostUsd === undefined ? undefined : Math.min(left.remainingCostUsd, Math.max(share.remainingCostUsd ?? 0, roundUsd(want.costUsd))),
      },
    };
  }
  // Budget comes back when the activities in flight finish.
  return { wait: q.inFlight ? 'in-flight' : 'gate' };
}
