/**
 * What a failed activity tells the workflow: the failure behind Temporal's ActivityFailure wrapper, and the
 * details of a model request refused by the activity's budget guard (activities/models/budget.ts).
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { BUDGET_EXCEEDED, type BudgetExceededDetails } from '../contracts/gates';

/** The activity's own failure (its message and type), or the error itself when it is no activity failure. */
export function failureCause(err: unknown): Error {
  return err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
}

/**
 * The details of a BudgetExceeded failure (the calls made before the refusal, what the refused request needed, the
 * stage's progress), or undefined when the activity failed for another reason.
 */
export function budgetRefusal(err: unknown): Partial<BudgetExceededDetails> | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== BUDGET_EXCEEDED) return undefined;
  return (cause.details?.[0] ?? {}) as Partial<BudgetExceededDetails>;
}
