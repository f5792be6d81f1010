/**
 * robotSlotsWorkflow: a per-robot counting semaphore that enforces the robot's concurrency limit in Temporal, so
 * the limit holds across any number of API replicas and workers (no process keeps the count in memory).
 *
 * Protocol: a run that needs a slot asks for one with `acquireSlot` (sent with signal-with-start by the
 * `requestRobotSlot` activity, so the semaphore exists on first use), then waits for `slotGranted`. When it ends —
 * done, failed, cancelled, also cancelled while still waiting — it sends `releaseSlot`. Grants are first come,
 * first served.
 *
 * A holder that can no longer release (terminated, timed out) would block the robot forever, so while runs are
 * waiting the semaphore checks every `checkIntervalSeconds` which holders are still running (an activity that
 * describes them) and frees the slots of the others. A grant that cannot be delivered (the run is gone) is
 * dropped at once. The semaphore ends itself when idle and continues-as-new before its history grows large.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
  allHandlersFinished,
} from '@temporalio/workflow';
import type { RobotActivities } from '../activities/robots';
import { SLOT_CHECK_OPTIONS, SLOT_REQUEST_OPTIONS } from './activity-options';
import {
  acquireSlotSignal,
  releaseSlotSignal,
  robotSlotsQuery,
  robotSlotsWorkflowId,
  slotGrantedSignal,
  type RobotSlotsInput,
  type SlotRequest,
} from '../contracts/messages';

const HISTORY_LIMIT = 5000;

export async function robotSlotsWorkflow(input: RobotSlotsInput): Promise<void> {
  const holders = new Set(input.holders ?? []);
  const waiting: SlotRequest[] = [...(input.waiting ?? [])];
  let limit = input.limit ?? 1;
  let changed = true;

  const { runningWorkflows } = proxyActivities<RobotActivities>(SLOT_CHECK_OPTIONS);

  setHandler(acquireSlotSignal, (req) => {
    limit = req.limit;
    if (!holders.has(req.runId) && !waiting.some((w) => w.runId === req.runId)) waiting.push(req);
    changed = true;
  });
  setHandler(releaseSlotSignal, ({ runId }) => {
    holders.delete(runId);
    const i = waiting.findIndex((w) => w.runId === runId);
    if (i >= 0) waiting.splice(i, 1);
    changed = true;
  });
  setHandler(robotSlotsQuery, () => ({ robotId: input.robotId, limit, holders: [...holders], waiting: waiting.map((w) => w.runId) }));

  const checkMs = (input.checkIntervalSeconds ?? 30) * 1000;
  const idleMs = (input.idleSeconds ?? 60) * 1000;

  for (;;) {
    while (holders.size < limit && waiting.length > 0) {
      const next = waiting.shift()!;
      holders.add(next.runId);
      try {
        await getExternalWorkflowHandle(next.runId).signal(slotGrantedSignal);
      } catch {
        holders.delete(next.runId); // the run is gone: give the slot to the next one
      }
    }
    changed = false;
    if (holders.size === 0 && waiting.length === 0) {
      // Idle: end unless someone asks within idleMs. A signal racing with the end makes the server reject the
      // completion and replay with the signal, so no request is lost.
      if (!(await condition(() => changed, idleMs))) {
        await condition(allHandlersFinished);
        return;
      }
    } else if (waiting.length > 0) {
      if (!(await condition(() => changed, checkMs))) {
        // Nobody released for a while: free the slots of holders that are no longer running.
        const alive = new Set(await runningWorkflows([...holders]));
        for (const h of [...holders]) if (!alive.has(h)) holders.delete(h);
      }
    } else {
      await condition(() => changed);
    }
    if (workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof robotSlotsWorkflow>({ ...input, holders: [...holders], waiting, limit });
    }
  }
}

/**
 * Run side: ask the robot's semaphore for a slot and wait until it is granted. Throws CancelledFailure if the run
 * is cancelled while waiting (the caller releases in its `finally`, which also withdraws a waiting request).
 */
export async function acquireRobotSlot(robotId: string, limit: number): Promise<void> {
  let granted = false;
  setHandler(slotGrantedSignal, () => {
    granted = true;
  });
  const { requestRobotSlot } = proxyActivities<RobotActivities>(SLOT_REQUEST_OPTIONS);
  await requestRobotSlot({ robotId, runId: workflowInfo().workflowId, limit, taskQueue: workflowInfo().taskQueue });
  await condition(() => granted);
}

/** Give the slot back (or withdraw the request). Safe to call when the semaphore has already ended. */
export async function releaseRobotSlot(robotId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(robotSlotsWorkflowId(robotId)).signal(releaseSlotSignal, { runId: workflowInfo().workflowId });
  } catch {
    // The semaphore is not running: it holds nothing for us.
  }
}
