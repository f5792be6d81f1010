/**
 * Custom search attributes that make runs listable from Temporal visibility without a worker, and what a run
 * carries in Temporal from the moment it is started (search attributes and memo), whoever starts it.
 * Registered at start by the worker and the API (see lib/temporal.ts `ensureSearchAttributes`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SearchAttributePair } from '@temporalio/common';
import { initialRunMemo, RunInput } from './run';

/** Board column of the run: Pending, Running, Review, Done, Failed, Cancelled. */
export const McStatus = defineSearchAttributeKey('McStatus', SearchAttributeType.KEYWORD);
/** Robot the run belongs to. */
export const McRobotId = defineSearchAttributeKey('McRobotId', SearchAttributeType.KEYWORD);
/** How the run was started: api, schedule, webhook, chat, compound, continuous. */
export const McTrigger = defineSearchAttributeKey('McTrigger', SearchAttributeType.KEYWORD);
/** Stage the run is in (or stopped in). */
export const McStage = defineSearchAttributeKey('McStage', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [McStatus, McRobotId, McTrigger, McStage];

/** Search attributes and memo of a run as it is started (the API, a schedule's action, the continuous loop). */
export function runStartAttributes(input: Pick<RunInput, 'task' | 'robot' | 'trigger'>): {
  typedSearchAttributes: SearchAttributePair[];
  memo: ReturnType<typeof initialRunMemo>;
} {
  return {
    typedSearchAttributes: [
      { key: McStatus, value: 'Pending' },
      { key: McRobotId, value: input.robot.id },
      { key: McTrigger, value: input.trigger },
    ],
    memo: initialRunMemo(input),
  };
}
