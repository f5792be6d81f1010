/**
 * "Survived a crash", from the run's own Temporal history: which activity attempts were lost with their worker
 * (an attempt that timed out on its heartbeat or its start-to-close limit and was retried), which workflow tasks
 * timed out (the workflow worker went away and another replayed the run), and whether any step that had completed
 * was run again without a person or a validator asking (it should not be: completed activities are in history).
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { StageName } from '../contracts/pipeline';
import type { RunState } from '../contracts/run';
import type { RecoveryReply } from './schemas';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Failure = temporal.api.failure.v1.IFailure;

const TimeoutType = temporal.api.enums.v1.TimeoutType;

/** The stage each activity type belongs to. */
export const STAGE_OF_ACTIVITY: Record<string, StageName> = {
  inspirationStage: 'inspiration',
  goalsStage: 'goals',
  planDag: 'tasks',
  runDagNode: 'tasks',
  validateDagNode: 'tasks',
  runDesktopNode: 'tasks',
  validationStage: 'validation',
  deliveryStage: 'delivery',
  deliverResult: 'delivery',
};

/** The one activity per stage whose completions count the stage's runs. */
const STAGE_ACTIVITY: Partial<Record<StageName, string>> = {
  inspiration: 'inspirationStage',
  goals: 'goalsStage',
  tasks: 'planDag',
  validation: 'validationStage',
  delivery: 'deliveryStage',
};

const NODE_ACTIVITIES = new Set(['runDagNode', 'runDesktopNode']);

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A failure that means the worker running the attempt went away (it stopped heartbeating, or never finished). */
function lostWorker(f: Failure | null | undefined): string | undefined {
  const t = f?.timeoutFailureInfo?.timeoutType;
  if (t === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) return 'the worker stopped heartbeating';
  if (t === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) return 'the attempt did not finish in time';
  return undefined;
}

const timeOf = (e: HistoryEvent) => {
  const s = e.eventTime?.seconds;
  return s === undefined || s === null ? undefined : new Date(Number(s) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6)).toISOString();
};

/**
 * The recovery facts of a run from its history and its state (pure). `nodeIdOf` reads a node activity's node id
 * from its scheduled input.
 */
export function recoveryOf(events: HistoryEvent[], state: Pick<RunState, 'stages' | 'dag'> | undefined, nodeIdOf: (scheduled: HistoryEvent) => string | undefined, pending: { activityType: string; attempt: number; lastFailure?: Failure | null }[] = []): RecoveryReply {
  const scheduled = new Map<string, HistoryEvent>();
  const losses: RecoveryReply['losses'] = [];
  const completions = new Map<string, number>();
  /** Node completions since the current graph was planned (a revision of the Tasks stage plans afresh). */
  let nodeCompletions = new Map<string, number>();
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, e);
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const s = scheduled.get(String(started.scheduledEventId));
      const activity = s?.activityTaskScheduledEventAttributes?.activityType?.name ?? undefined;
      const cause = (started.attempt ?? 1) > 1 ? lostWorker(started.lastFailure) : undefined;
      if (cause && activity) {
        const nodeId = NODE_ACTIVITIES.has(activity) && s ? nodeIdOf(s) : undefined;
        losses.push({ kind: 'activity', stage: STAGE_OF_ACTIVITY[activity], activity, ...(nodeId ? { nodeId } : {}), attempt: started.attempt ?? undefined, cause, at: timeOf(e) });
      }
    }
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) {
      const s = scheduled.get(String(completed.scheduledEventId));
      const activity = s?.activityTaskScheduledEventAttributes?.activityType?.name;
      if (activity) {
        completions.set(activity, (completions.get(activity) ?? 0) + 1);
        if (activity === 'planDag') nodeCompletions = new Map();
        if (NODE_ACTIVITIES.has(activity) && s) {
          const node = nodeIdOf(s);
          if (node) nodeCompletions.set(node, (nodeCompletions.get(node) ?? 0) + 1);
        }
      }
    }
    const wft = e.workflowTaskTimedOutEventAttributes;
    if (wft) {
      const sticky = wft.timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START;
      losses.push({ kind: 'workflow-task', cause: sticky ? 'the worker holding the run went away; another worker replayed it' : 'a workflow task did not finish in time', at: timeOf(e) });
    }
  }
  for (const p of pending) {
    const cause = p.attempt > 1 ? lostWorker(p.lastFailure) : undefined;
    if (cause) losses.push({ kind: 'activity', stage: STAGE_OF_ACTIVITY[p.activityType], activity: p.activityType, attempt: p.attempt, cause: `${cause}; being retried now` });
  }

  let repeated = 0;
  if (state) {
    for (const st of state.stages) {
      const type = STAGE_ACTIVITY[st.name];
      if (type) repeated += Math.max(0, (completions.get(type) ?? 0) - (1 + (st.revisions ?? 0)));
    }
    for (const n of state.dag?.nodes ?? []) repeated += Math.max(0, (nodeCompletions.get(n.id) ?? 0) - n.runs);
  }

  const activityLosses = losses.filter((l) => l.kind === 'activity');
  const where = [...new Set(activityLosses.map((l) => (l.stage ? capital(l.stage) : l.activity)))];
  const summary = losses.length
    ? `${activityLosses.length ? `worker lost during ${where.join(', ')}` : 'workflow worker lost'}; resumed, ${repeated} completed step${repeated === 1 ? '' : 's'} repeated`
    : null;
  return { survived: losses.length > 0, losses, repeatedCompletedSteps: repeated, summary };
}

/** Reads the history and pending activities of a run and answers its recovery facts. */
export async function readRecovery(client: Client, id: string, state: Pick<RunState, 'stages' | 'dag'> | undefined): Promise<RecoveryReply> {
  const handle = client.workflow.getHandle(id);
  const [history, desc] = await Promise.all([handle.fetchHistory(), handle.describe()]);
  const converter = client.options.loadedDataConverter;
  const nodeIdOf = (e: HistoryEvent): string | undefined => {
    const payload = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
    if (!payload || converter.payloadCodecs.length > 0) return undefined;
    try {
      return converter.payloadConverter.fromPayload<{ node?: { id?: string } }>(payload as Payload)?.node?.id;
    } catch {
      return undefined;
    }
  };
  const pending = (desc.raw.pendingActivities ?? []).map((p) => ({ activityType: p.activityType?.name ?? '?', attempt: p.attempt ?? 1, lastFailure: p.lastFailure }));
  return recoveryOf(history.events ?? [], state, nodeIdOf, pending);
}
