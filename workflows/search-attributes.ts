/**
 * Custom search attributes that make runs listable from Temporal visibility without a worker.
 * Registered on the dev server at start (see lib/temporal.ts `ensureSearchAttributes`).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Board column of the run: Pending, Running, Review, Done, Failed, Cancelled. */
export const McStatus = defineSearchAttributeKey('McStatus', SearchAttributeType.KEYWORD);
/** Robot the run belongs to. */
export const McRobotId = defineSearchAttributeKey('McRobotId', SearchAttributeType.KEYWORD);
/** How the run was started: api, schedule, webhook, chat, compound, continuous. */
export const McTrigger = defineSearchAttributeKey('McTrigger', SearchAttributeType.KEYWORD);
/** Stage the run is in (or stopped in). */
export const McStage = defineSearchAttributeKey('McStage', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [McStatus, McRobotId, McTrigger, McStage];
