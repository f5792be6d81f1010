/**
 * Timeouts and retry policies of every activity the workflows schedule, in one place.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { RunOptions } from '../contracts/run';

/** Temporal retries of model-calling work: exponential from `retryInitialIntervalMs`, up to `maximumAttempts`. */
function retryPolicy(opts: RunOptions, maximumAttempts: number): RetryPolicy {
  return {
    initialInterval: opts.retryInitialIntervalMs ?? 1000,
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts,
  };
}

/** The run's activities: the stage activities and the Robot Host turns (`stage`), and short ones (`quick`). */
export function runActivityOptions(opts: RunOptions = {}): { stage: ActivityOptions; quick: ActivityOptions } {
  const retry = retryPolicy(opts, opts.stageMaxAttempts ?? 3);
  return {
    stage: {
      startToCloseTimeout: `${opts.stageTimeoutSeconds ?? 600}s`,
      // Stages heartbeat every second; a worker that dies is noticed within this window.
      heartbeatTimeout: '10s',
      // The run is marked Cancelled at once; the activity learns through its heartbeat and aborts its model call.
      cancellationType: ActivityCancellationType.TRY_CANCEL,
      retry,
    },
    // Notifications and delivery: no model call, so a short timeout (the same retries).
    quick: { startToCloseTimeout: '30s', retry },
  };
}

/** The task graph's activities (planner, nodes, node validators); `taskQueue`: a desktop's queue for its command nodes. */
export function nodeActivityOptions(opts: RunOptions = {}, taskQueue?: string): ActivityOptions {
  return {
    // A desktop that is off must not hold a node forever: unpicked for 10 minutes, the node fails.
    ...(taskQueue ? { taskQueue, scheduleToStartTimeout: '10m' } : {}),
    startToCloseTimeout: `${opts.stageTimeoutSeconds ?? 600}s`,
    heartbeatTimeout: '10s',
    // The node is marked cancelled at once; the activity learns through its heartbeat and aborts its work.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: retryPolicy(opts, opts.nodeMaxAttempts ?? 3),
  };
}

/** The semaphore's check of which slot holders still run. */
export const SLOT_CHECK_OPTIONS: ActivityOptions = { startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } };

/** A run asking its robot's semaphore for a slot (the activity signals-with-start the semaphore). */
export const SLOT_REQUEST_OPTIONS: ActivityOptions = { startToCloseTimeout: '30s', retry: { maximumAttempts: 10 } };

/** Drafting a role description (one model call). */
export const ROLE_DRAFT_OPTIONS: ActivityOptions = { startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumAttempts: 3 } };
