/**
 * Where robots live: one Temporal Schedule per robot, id `robot-<robotId>`. No other database.
 *
 * Why a Schedule and not an entity workflow: a schedule is created, read, listed, updated, paused and deleted by
 * the Temporal server alone, so every robot operation works without a running worker; it survives restarts of
 * every process (and of the server, with a persistent store); and the schedule *is* the robot's timetable, so the
 * definition and its schedule can never disagree. An entity workflow would need a worker to apply every edit.
 *
 * Layout of the schedule:
 * - `action.args[0]`: the RunInput every scheduled run starts with (a snapshot: robot id, name, role, **version**,
 *   duty, approvals, budget, concurrency limit). Editing the robot replaces it; runs already started keep theirs.
 * - `action.memo.robot`: the whole stored definition (StoredRobot, no secrets). The schedule's own memo cannot be
 *   changed after creation, the action's memo can; a side effect is that each scheduled run's memo records the
 *   exact definition it ran with.
 * - `spec` / `policies`: from `robot.schedule`. Robots that do not run on a schedule (on demand, continuous,
 *   webhook only) keep a paused schedule with an empty spec and a note saying why.
 * - `state.note`: notes starting with `mc:` are ours (mode markers); any other pause (a user's, or Temporal's
 *   pause-on-failure) is kept across edits.
 *
 * Known trade-off: the SDK's schedule update is read-modify-write without a conflict token, so two edits racing
 * on the same robot are last-writer-wins (each still gets its own version number).
 */
import type { ScheduleDescription, ScheduleOptions, ScheduleSpec, ScheduleUpdateOptions } from '@temporalio/client';
import { McRobotId, McStatus, McTrigger } from '../../contracts/search-attributes';
import type { StageName, Trigger } from '../../contracts/pipeline';
import type { RobotSnapshot, RoutingOverrides, RunInput } from '../../contracts/run';
import { durationMs } from '../../contracts/common';
import type { RobotSchedule, StoredRobot } from '../../contracts/robot';

export const scheduleIdOf = (robotId: string) => `robot-${robotId}`;
export const robotIdOfSchedule = (scheduleId: string) => (scheduleId.startsWith('robot-') ? scheduleId.slice('robot-'.length) : undefined);
/** Scheduled runs get ids `run-sched-<robotId>-<scheduled time>` (Temporal appends the time). */
export const scheduledRunIdPrefix = (robotId: string) => `run-sched-${robotId}`;

export const DEFAULT_DUTY = 'Carry out the standing duties of your role and report what you found and did.';

export type RobotMode = 'on_demand' | 'schedule' | 'continuous' | 'triggers_only';

export function modeOf(r: Pick<StoredRobot, 'workMode' | 'schedule' | 'continuous'>): RobotMode {
  if (r.workMode === 'on_demand') return 'on_demand';
  if (r.schedule) return 'schedule';
  if (r.continuous) return 'continuous';
  return 'triggers_only';
}

/** Schedule notes that mark why *we* keep a schedule paused. */
export const NOTES = {
  on_demand: 'mc:on_demand: runs only when triggered (API, webhook)',
  continuous: 'mc:continuous: runs in its continuous loop workflow',
  continuousPaused: 'mc:continuous-paused: the continuous loop was stopped',
  triggers_only: 'mc:triggers_only: autonomous without a schedule; runs on webhooks and triggers',
  userPaused: 'mc:paused',
} as const;
export const isModeNote = (note?: string) =>
  !!note && [NOTES.on_demand, NOTES.continuous, NOTES.continuousPaused, NOTES.triggers_only].some((n) => note === n);

/** The RunInput a run of this robot starts with. `host` applies to manual runs only. */
/** Per-stage model overrides of the definition, as the router takes them. */
function routingOf(robot: StoredRobot): RoutingOverrides | undefined {
  const stages: RoutingOverrides['stages'] = {};
  for (const [stage, o] of Object.entries(robot.stages ?? {})) {
    if (o && (o.model || o.temperature !== undefined)) stages[stage as StageName] = { model: o.model, temperature: o.temperature };
  }
  return Object.keys(stages).length ? { stages } : undefined;
}

/** Per-stage prompt additions and custom agents of the definition, as the stages' prompts take them. */
function stageAgentsOf(robot: StoredRobot): RobotSnapshot['stageAgents'] {
  const out: NonNullable<RobotSnapshot['stageAgents']> = {};
  for (const [stage, o] of Object.entries(robot.stages ?? {})) {
    if (o && (o.promptAddition || o.agent)) out[stage as StageName] = { promptAddition: o.promptAddition, agent: o.agent };
  }
  return Object.keys(out).length ? out : undefined;
}

/** "Reports to" given as an http(s) URL is where gate escalations are posted. */
function escalation(robot: StoredRobot): { name?: string; webhookUrl: string } | undefined {
  return robot.reportsTo && /^https?:\/\//i.test(robot.reportsTo) ? { name: `${robot.name}'s reports-to contact`, webhookUrl: robot.reportsTo } : undefined;
}

export function runInputOf(robot: StoredRobot, trigger: Trigger, extra: { task?: string; context?: Record<string, unknown> } = {}): RunInput {
  return {
    task: extra.task ?? robot.duty ?? DEFAULT_DUTY,
    robot: {
      id: robot.id,
      name: robot.name,
      role: robot.role,
      version: robot.version,
      // A robot may use only the tools its definition lists.
      tools: robot.tools,
      routing: routingOf(robot),
      stageAgents: stageAgentsOf(robot),
    },
    trigger,
    approvals: robot.approvals && escalation(robot) ? { ...robot.approvals, escalateTo: escalation(robot) } : robot.approvals,
    budget: robot.budget,
    host: trigger === 'api' ? robot.host : undefined,
    context: extra.context,
    concurrencyLimit: robot.concurrencyLimit,
  };
}

const OVERLAP = {
  skip: 'SKIP',
  buffer_one: 'BUFFER_ONE',
  buffer_all: 'BUFFER_ALL',
  cancel_other: 'CANCEL_OTHER',
  terminate_other: 'TERMINATE_OTHER',
  allow_all: 'ALLOW_ALL',
} as const;

const PRESET_EVERY = { hourly: '1h', daily: '1d', weekly: '7d' } as const;

/** The Temporal Schedule spec of a robot's `schedule` (empty when it has none). */
export function scheduleSpecOf(s: RobotSchedule | undefined): ScheduleSpec {
  if (!s) return {};
  const intervals = [s.every, s.preset && PRESET_EVERY[s.preset]].filter((x): x is string => !!x).map((every) => ({ every: durationMs(every) }));
  return {
    intervals,
    cronExpressions: s.cron,
    calendars: s.calendar?.map(({ comment, ...c }) => ({ ...c, comment })),
    timezone: s.timezone,
    startAt: s.startAt ? new Date(s.startAt) : undefined,
    endAt: s.endAt ? new Date(s.endAt) : undefined,
    jitter: s.jitter ? durationMs(s.jitter) : undefined,
  };
}

export function policiesOf(s: RobotSchedule | undefined): NonNullable<ScheduleOptions['policies']> {
  return {
    overlap: OVERLAP[s?.overlap ?? 'skip'],
    catchupWindow: durationMs(s?.catchupWindow ?? '1m'),
    pauseOnFailure: s?.pauseOnFailure ?? false,
  };
}

/** What a robot's schedule should look like. `current` is the schedule's state before an edit, if any. */
export function scheduleOptionsOf(
  robot: StoredRobot,
  taskQueue: string,
  current?: { paused: boolean; note?: string },
): Omit<ScheduleUpdateOptions, 'state'> & { state: { paused: boolean; note?: string } } {
  const input = runInputOf(robot, 'schedule');
  const mode = modeOf(robot);
  let state: { paused: boolean; note?: string };
  if (mode === 'schedule') {
    // Keep a pause that is not ours (the user's, or pause-on-failure) across edits.
    state = current?.paused && !isModeNote(current.note) ? current : { paused: false, note: 'mc:active' };
  } else if (mode === 'continuous') {
    state = { paused: true, note: current?.note === NOTES.continuousPaused ? NOTES.continuousPaused : NOTES.continuous };
  } else {
    state = { paused: true, note: NOTES[mode] };
  }
  return {
    spec: scheduleSpecOf(robot.schedule),
    policies: policiesOf(robot.schedule),
    action: {
      type: 'startWorkflow',
      workflowType: 'robotRunWorkflow',
      workflowId: scheduledRunIdPrefix(robot.id),
      taskQueue,
      args: [input],
      memo: { robot, run: { task: input.task.slice(0, 500), robotName: robot.name, status: 'Pending' } },
      typedSearchAttributes: [
        { key: McStatus, value: 'Pending' },
        { key: McRobotId, value: robot.id },
        { key: McTrigger, value: 'schedule' },
      ],
    },
    state,
  };
}

/** The stored definition inside a schedule description, or undefined when the schedule is not a robot. */
export function storedRobotOf(desc: ScheduleDescription): StoredRobot | undefined {
  if (desc.action.type !== 'startWorkflow') return undefined;
  const robot = desc.action.memo?.robot as StoredRobot | undefined;
  return robot && typeof robot === 'object' && typeof robot.id === 'string' ? robot : undefined;
}
