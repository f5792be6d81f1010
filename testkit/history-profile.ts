/**
 * What a workflow's history says it cost: events, workflow tasks and the worker time inside them, activities and
 * their queue wait, payload bytes, memo and search-attribute upserts, and the workflow tasks that upsert (each a
 * visibility write on the server). Read by bench/profile.ts and by tests that hold a run to its visibility writes.
 */
import { temporal } from '@temporalio/proto';

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

const ms = (t: HistoryEvent['eventTime']) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
const payloadBytes = (p: { payloads?: { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> | null }[] | null } | null | undefined) =>
  (p?.payloads ?? []).reduce((n, x) => n + (x.data?.length ?? 0) + Object.values(x.metadata ?? {}).reduce((m, v) => m + v.length, 0), 0);
const mapBytes = (m: Record<string, { data?: Uint8Array | null; metadata?: Record<string, Uint8Array> | null }> | null | undefined) =>
  Object.values(m ?? {}).reduce((n, x) => n + (x.data?.length ?? 0) + Object.values(x.metadata ?? {}).reduce((k, v) => k + v.length, 0), 0);

export interface Profile {
  events: number;
  historyBytes: number;
  workflowTasks: number;
  /** Sum over workflow tasks of started → completed (the worker's time inside them, plus the round trip). */
  workflowTaskMs: number;
  activities: number;
  /** Sum over activities of scheduled → started (time in the queue). */
  activityQueueMs: number;
  /** Sum over activities of started → completed. */
  activityRunMs: number;
  inputBytes: number;
  activityInputBytes: number;
  activityResultBytes: number;
  resultBytes: number;
  memoUpserts: number;
  memoBytes: number;
  searchAttributeUpserts: number;
  searchAttributeBytes: number;
  /** Workflow tasks whose commands upsert memo or search attributes: each costs the server a visibility write. */
  upsertingTasks: number;
  timers: number;
  signalsOrUpdates: number;
  wallMs: number;
}

export function profileOf(events: HistoryEvent[]): Profile {
  const p: Profile = {
    events: events.length,
    historyBytes: events.reduce((n, e) => n + temporal.api.history.v1.HistoryEvent.encode(e as temporal.api.history.v1.HistoryEvent).finish().length, 0),
    workflowTasks: 0,
    workflowTaskMs: 0,
    activities: 0,
    activityQueueMs: 0,
    activityRunMs: 0,
    inputBytes: 0,
    activityInputBytes: 0,
    activityResultBytes: 0,
    resultBytes: 0,
    memoUpserts: 0,
    memoBytes: 0,
    searchAttributeUpserts: 0,
    searchAttributeBytes: 0,
    upsertingTasks: 0,
    timers: 0,
    signalsOrUpdates: 0,
    wallMs: ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime),
  };
  const byId = new Map<number, HistoryEvent>();
  let upsertedInTask = false;
  for (const e of events) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) upsertedInTask = false;
    if (
      !upsertedInTask &&
      (e.eventType === EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED || e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
    ) {
      upsertedInTask = true;
      p.upsertingTasks++;
    }
    byId.set(Number(e.eventId), e);
    switch (e.eventType) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        p.inputBytes += payloadBytes(e.workflowExecutionStartedEventAttributes?.input);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: {
        p.workflowTasks++;
        const started = byId.get(Number(e.workflowTaskCompletedEventAttributes?.startedEventId));
        if (started) p.workflowTaskMs += ms(e.eventTime) - ms(started.eventTime);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        p.activities++;
        p.activityInputBytes += payloadBytes(e.activityTaskScheduledEventAttributes?.input);
        break;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const scheduled = byId.get(Number(e.activityTaskStartedEventAttributes?.scheduledEventId));
        if (scheduled) p.activityQueueMs += ms(e.eventTime) - ms(scheduled.eventTime);
        break;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        p.activityResultBytes += payloadBytes(e.activityTaskCompletedEventAttributes?.result);
        const started = byId.get(Number(e.activityTaskCompletedEventAttributes?.startedEventId));
        if (started) p.activityRunMs += ms(e.eventTime) - ms(started.eventTime);
        break;
      }
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        p.resultBytes += payloadBytes(e.workflowExecutionCompletedEventAttributes?.result);
        break;
      case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        p.memoUpserts++;
        p.memoBytes += mapBytes(e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields as never);
        break;
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        p.searchAttributeUpserts++;
        p.searchAttributeBytes += mapBytes(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields as never);
        break;
      case EventType.EVENT_TYPE_TIMER_STARTED:
        p.timers++;
        break;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        p.signalsOrUpdates++;
        break;
    }
  }
  return p;
}

export const PROFILE_ROWS: [keyof Profile, string][] = [
  ['events', 'history events'],
  ['historyBytes', 'history size (bytes, encoded)'],
  ['workflowTasks', 'workflow tasks'],
  ['workflowTaskMs', 'workflow task time, started → completed (ms)'],
  ['activities', 'activities'],
  ['activityQueueMs', 'activity queue wait, scheduled → started (ms)'],
  ['activityRunMs', 'activity run, started → completed (ms)'],
  ['inputBytes', 'workflow input (bytes)'],
  ['activityInputBytes', 'activity inputs (bytes)'],
  ['activityResultBytes', 'activity results (bytes)'],
  ['resultBytes', 'workflow result (bytes)'],
  ['memoUpserts', 'memo upserts'],
  ['memoBytes', 'memo upserted (bytes)'],
  ['searchAttributeUpserts', 'search-attribute upserts'],
  ['searchAttributeBytes', 'search attributes upserted (bytes)'],
  ['upsertingTasks', 'workflow tasks that upsert (a visibility write each)'],
  ['timers', 'timers'],
  ['signalsOrUpdates', 'signals / updates'],
  ['wallMs', 'first → last event (ms)'],
];
