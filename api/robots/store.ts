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
import { Client, ScheduleNotFoundError, type ScheduleDescription, type ScheduleHandle, type ScheduleOptions, type ScheduleSpec, type ScheduleUpdateOptions } from '@temporalio/client';
import { runStartAttributes } from '../../contracts/search-attributes';
import { durationMs } from '../../contracts/common';
import type { RobotSchedule, StoredRobot } from '../../contracts/robot';
import { NotFound } from '../errors';
import { runInputOf } from '../use-cases/run-input';

export const scheduleIdOf = (robotId: string) => `robot-${robotId}`;
export const robotIdOfSchedule = (scheduleId: string) => (scheduleId.startsWith('robot-') ? scheduleId.slice('robot-'.length) : undefined);
/** Scheduled runs get ids `run-sched-<robotId>-<scheduled time>` (Temporal appends the time). */
export const scheduledRunIdPrefix = (robotId: string) => `run-sched-${robotId}`;

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
  const started = runStartAttributes(input);
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
      // The run's own start memo and search attributes (as startRun writes them), plus the whole definition.
      memo: { ...started.memo, robot },
      typedSearchAttributes: started.typedSearchAttributes,
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

/** Reads robots from their schedules. Unknown ids (and schedules that are not robots) are NotFound. */
export class RobotStore {
  constructor(private readonly client: Client) {}

  handle(id: string): ScheduleHandle {
    return this.client.schedule.getHandle(scheduleIdOf(id));
  }

  /** The schedule and the definition it holds. */
  async describe(id: string): Promise<{ desc: ScheduleDescription; robot: StoredRobot }> {
    try {
      const desc = await this.handle(id).describe();
      const robot = storedRobotOf(desc);
      if (!robot) throw NotFound.of('robot');
      return { desc, robot };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw NotFound.of('robot');
      throw err;
    }
  }

  /** The stored definition. */
  async load(id: string): Promise<StoredRobot> {
    return (await this.describe(id)).robot;
  }
}
