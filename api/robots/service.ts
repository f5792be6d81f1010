/**
 * Robots, over the Temporal client: CRUD of definitions (kept in Temporal Schedules, see ./store.ts), manual
 * triggers (through startRun), schedule control and continuous mode. Throws domain errors (../errors.ts); returns
 * the shapes of ../schemas.ts. Signed webhooks are their own use case (../use-cases/receive-webhook.ts).
 */
import { randomUUID } from 'node:crypto';
import { Client, ScheduleAlreadyRunning, ScheduleDescription, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { robotContinuousWorkflow } from '../../workflows/robot-continuous';
import { continuousStateQuery, continuousUpdateSignal, continuousWorkflowId, type ContinuousInput, type ContinuousState } from '../../contracts/messages';
import { generateRoleWorkflow } from '../../workflows/generate-role';
import { Conflict, InvalidInput, Unavailable } from '../errors';
import type { RunService } from '../run-service';
import { durationMs } from '../../contracts/common';
import { RobotFields, RobotFieldsInput, StoredRobot } from '../../contracts/robot';
import type { BackfillBody, RobotEvent, RobotView, RobotWithSecret, StartedRun } from '../schemas';
import type { StartRun } from '../use-cases/start-run';
import { runInputOf } from '../use-cases/run-input';
import { isModeNote, modeOf, NOTES, robotIdOfSchedule, RobotStore, scheduleIdOf, scheduleOptionsOf } from './store';
import { newWebhookKeyId, webhookSecret } from './webhook-signature';

const log = createLogger('robots');

export type { RobotView };

/** Drop `undefined` values so a stored definition compares and serialises cleanly. */
const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** How deep a merge patch may reach (the HTTP body is already bounded by MC_MAX_JSON_DEPTH; this guards other callers). */
export const MAX_PATCH_DEPTH = 64;

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, everything else replaces. Deeper than MAX_PATCH_DEPTH: InvalidInput. */
export function mergePatch(target: unknown, patch: unknown, depth = 0): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  if (depth >= MAX_PATCH_DEPTH) throw new InvalidInput(`merge patch nested deeper than ${MAX_PATCH_DEPTH} levels`);
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v, depth + 1);
  }
  return out;
}

export interface RobotServiceDeps {
  client: Client;
  config: Config;
  store: RobotStore;
  runs: RunService;
  startRun: StartRun;
  /** Master key the webhook secrets are derived from (MC_WEBHOOK_KEY). */
  webhookKey: string;
}

export class RobotService {
  private readonly client: Client;
  private readonly config: Config;
  private readonly store: RobotStore;
  private readonly runs: RunService;
  private readonly startRun: StartRun;
  private readonly webhookKey: string;

  constructor(deps: RobotServiceDeps) {
    ({ client: this.client, config: this.config, store: this.store, runs: this.runs, startRun: this.startRun, webhookKey: this.webhookKey } = deps);
  }

  private handle(id: string) {
    return this.store.handle(id);
  }

  private describe(id: string): Promise<{ desc: ScheduleDescription; robot: StoredRobot }> {
    return this.store.describe(id);
  }

  /**
   * A new robot from its fields (`RobotFields`, checked whole here: the definition's cross-field rules apply to
   * every caller) and an optional id.
   */
  async create(body: RobotFieldsInput & { id?: string }): Promise<RobotWithSecret> {
    const { id: givenId, ...rest } = body;
    const fields = RobotFields.parse(rest);
    const id = givenId ?? randomUUID();
    const now = new Date().toISOString();
    const robot: StoredRobot = clean({
      ...fields,
      id,
      version: 1,
      createdAt: now,
      updatedAt: now,
      webhookKeyId: fields.webhook?.enabled ? newWebhookKeyId() : undefined,
    });
    const opts = scheduleOptionsOf(robot, this.config.MC_TASK_QUEUE);
    try {
      await this.client.schedule.create({
        scheduleId: scheduleIdOf(id),
        ...opts,
        memo: { kind: 'mission-control-robot', robotId: id },
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) throw new Conflict(`robot ${id} already exists`);
      throw asScheduleError(err);
    }
    await this.reconcileContinuous(robot, opts.state.note);
    const view = await this.get(id);
    return robot.webhookKeyId ? { ...view, webhookSecret: webhookSecret(this.webhookKey, id, robot.webhookKeyId) } : view;
  }

  async list(): Promise<RobotView[]> {
    const ids: string[] = [];
    for await (const s of this.client.schedule.list()) {
      const id = robotIdOfSchedule(s.scheduleId);
      if (id && (s.memo as { kind?: string } | undefined)?.kind === 'mission-control-robot') ids.push(id);
    }
    const views = await Promise.all(ids.map((id) => this.get(id).catch(() => undefined)));
    return views.filter((v): v is RobotView => !!v).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(id: string): Promise<RobotView> {
    const { desc, robot } = await this.describe(id);
    return this.view(robot, desc, await this.continuousInfo(robot));
  }

  /** PUT: replace every field (server-managed ones — id, version, times — stay). */
  async replace(id: string, fields: RobotFieldsInput): Promise<RobotWithSecret> {
    return this.update(id, () => RobotFields.parse(fields));
  }

  /** PATCH: JSON merge patch over the current fields, then validated as a whole. */
  async patch(id: string, patch: Record<string, unknown>): Promise<RobotWithSecret> {
    return this.update(id, (current) => RobotFields.parse(mergePatch(fieldsOf(current), patch)));
  }

  private async update(id: string, next: (current: StoredRobot) => RobotFields, rotateWebhook = false): Promise<RobotWithSecret> {
    const { robot: current } = await this.describe(id);
    const fields = next(current);
    const webhookOn = !!fields.webhook?.enabled;
    const keyId = webhookOn ? (rotateWebhook || !current.webhookKeyId ? newWebhookKeyId() : current.webhookKeyId) : undefined;
    const robot: StoredRobot = clean({
      ...fields,
      id,
      version: current.version + 1,
      createdAt: current.createdAt,
      updatedAt: new Date().toISOString(),
      webhookKeyId: keyId,
    });
    let note: string | undefined;
    try {
      await this.handle(id).update((prev) => {
        const opts = scheduleOptionsOf(robot, this.config.MC_TASK_QUEUE, prev.state);
        note = opts.state.note;
        return opts;
      });
    } catch (err) {
      throw asScheduleError(err);
    }
    await this.reconcileContinuous(robot, note);
    const view = await this.get(id);
    return keyId && keyId !== current.webhookKeyId ? { ...view, webhookSecret: webhookSecret(this.webhookKey, id, keyId) } : view;
  }

  /** New webhook secret (the old one stops working at once); shown once. */
  async rotateWebhook(id: string): Promise<{ id: string; webhookSecret: string; version: number }> {
    const { robot } = await this.describe(id);
    if (!robot.webhook?.enabled) throw new Conflict('webhooks are not enabled for this robot (set webhook.enabled)');
    const view = await this.update(id, (current) => RobotFields.parse(fieldsOf(current)), true);
    return { id, webhookSecret: view.webhookSecret!, version: view.version };
  }

  /** Refused (Conflict) while runs of the robot are going, unless `force`, which cancels them first. */
  async remove(id: string, force: boolean): Promise<{ id: string; deleted: true; cancelledRuns: string[] }> {
    const { desc } = await this.describe(id);
    const running = new Set(desc.info.runningActions.map((a) => a.workflow.workflowId));
    for (const r of await this.runs.list({ robotId: id, limit: 1000 })) if (r.temporalStatus === 'RUNNING') running.add(r.id);
    const loop = await this.continuousInfo({ id } as StoredRobot);
    if (running.size > 0 && !force) {
      throw new Conflict(`robot ${id} has ${running.size} running run(s); cancel them or delete with ?force=true`, { runningRuns: [...running] });
    }
    if (loop?.status === 'RUNNING') await this.client.workflow.getHandle(continuousWorkflowId(id)).cancel();
    await Promise.all([...running].map((runId) => this.client.workflow.getHandle(runId).cancel().catch(() => undefined)));
    await this.handle(id).delete();
    return { id, deleted: true, cancelledRuns: [...running] };
  }

  /** A manual run now, with the robot's duty or the given task. */
  async trigger(id: string, task?: string): Promise<StartedRun> {
    return this.startRun({ trigger: 'api', robot: { id }, task });
  }

  async pause(id: string, note?: string) {
    const { robot } = await this.describe(id);
    const mode = modeOf(robot);
    if (mode === 'continuous') {
      await this.handle(id).pause(NOTES.continuousPaused);
      await this.stopContinuous(id);
    } else if (mode === 'schedule') {
      await this.handle(id).pause(`${NOTES.userPaused}${note ? `: ${note}` : ''}`);
    } else {
      throw new Conflict(`robot ${id} has no schedule to pause (mode ${mode})`);
    }
    return this.get(id);
  }

  async resume(id: string) {
    const { robot } = await this.describe(id);
    const mode = modeOf(robot);
    if (mode === 'continuous') {
      await this.handle(id).pause(NOTES.continuous);
      await this.reconcileContinuous(robot, NOTES.continuous);
    } else if (mode === 'schedule') {
      await this.handle(id).unpause('mc:active');
    } else {
      throw new Conflict(`robot ${id} has no schedule to resume (mode ${mode})`);
    }
    return this.get(id);
  }

  /** Take the schedule's action now (a scheduled run, even while paused; overlap allowed). */
  async triggerSchedule(id: string) {
    await this.describe(id);
    await this.handle(id).trigger();
    return { id, triggered: true };
  }

  async backfill(id: string, body: BackfillBody) {
    const { robot } = await this.describe(id);
    if (!robot.schedule) throw new Conflict(`robot ${id} has no schedule to backfill`);
    const overlap = body.overlap ? (body.overlap.toUpperCase() as 'SKIP') : undefined;
    await this.handle(id).backfill({ start: new Date(body.start), end: new Date(body.end), overlap });
    return { id, backfill: body };
  }

  /** Runs of the robot, from visibility. */
  async listRuns(id: string, limit = 100) {
    await this.describe(id);
    return this.runs.list({ robotId: id, limit });
  }

  /** Draft a role with the model, on a worker (the API has no model client). */
  async generateRole(name: string): Promise<{ name: string; role: string; offline: boolean }> {
    const timeout = this.config.MC_GENERATE_TIMEOUT_SECONDS * 1000;
    try {
      const out = await this.client.withDeadline(Date.now() + timeout, () =>
        this.client.workflow.execute(generateRoleWorkflow, {
          taskQueue: this.config.MC_TASK_QUEUE,
          workflowId: `generate-role-${randomUUID()}`,
          args: [{ name }],
          workflowExecutionTimeout: timeout,
        }),
      );
      return { name, role: out.role, offline: out.calls.some((c) => c.offline) };
    } catch (err) {
      log.warn('generate-role failed', { error: (err as Error).message });
      throw new Unavailable('no worker drafted the role in time; is a worker running?');
    }
  }

  // ---- continuous mode -----------------------------------------------------------------------------------------

  private async continuousInfo(robot: Pick<StoredRobot, 'id'>): Promise<RobotView['state']['continuous']> {
    const workflowId = continuousWorkflowId(robot.id);
    try {
      const handle = this.client.workflow.getHandle(workflowId);
      const d = await handle.describe();
      let state: ContinuousState | undefined;
      if (d.status.name === 'RUNNING') {
        state = await this.client.withDeadline(Date.now() + 1000, () => handle.query(continuousStateQuery)).catch(() => undefined);
      }
      return { workflowId, status: d.status.name, state };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Start or update the loop of a continuous robot; stop it for every other mode or when paused. */
  private async reconcileContinuous(robot: StoredRobot, note: string | undefined): Promise<void> {
    if (modeOf(robot) !== 'continuous' || note === NOTES.continuousPaused) {
      await this.stopContinuous(robot.id);
      return;
    }
    const run = runInputOf(robot, 'continuous');
    const pauseMs = durationMs(robot.continuous!.pause);
    const input: ContinuousInput = { run, pauseMs, maxHistoryEvents: this.config.MC_CONTINUOUS_MAX_HISTORY };
    await this.client.workflow.signalWithStart(robotContinuousWorkflow, {
      workflowId: continuousWorkflowId(robot.id),
      taskQueue: this.config.MC_TASK_QUEUE,
      args: [input],
      signal: continuousUpdateSignal,
      signalArgs: [{ run, pauseMs }],
    });
  }

  private async stopContinuous(id: string): Promise<void> {
    try {
      const handle = this.client.workflow.getHandle(continuousWorkflowId(id));
      if ((await handle.describe()).status.name === 'RUNNING') await handle.cancel();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  private view(robot: StoredRobot, desc: ScheduleDescription, continuous: RobotView['state']['continuous']): RobotView {
    const info = desc.info;
    const events: RobotEvent[] = info.recentActions.map((a) => ({
      type: 'schedule.run_started',
      at: a.takenAt.toISOString(),
      message: `scheduled for ${a.scheduledAt.toISOString()}`,
      runId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : undefined,
    }));
    if (info.numActionsSkippedOverlap > 0) {
      events.push({
        type: 'schedule.skipped_overlap',
        count: info.numActionsSkippedOverlap,
        message: `${info.numActionsSkippedOverlap} scheduled run(s) skipped because the previous run was still going (overlap policy ${desc.policies.overlap})`,
      });
    }
    if (info.numActionsMissedCatchupWindow > 0) {
      events.push({
        type: 'schedule.missed_catchup',
        count: info.numActionsMissedCatchupWindow,
        message: `${info.numActionsMissedCatchupWindow} scheduled run(s) missed (e.g. while Temporal was down) beyond the catch-up window of ${desc.policies.catchupWindow} ms`,
      });
    }
    if (desc.state.paused && !isModeNote(desc.state.note)) {
      events.push({ type: 'schedule.paused', at: info.lastUpdatedAt?.toISOString(), message: desc.state.note ?? 'paused' });
    }
    const { webhookKeyId: _keyId, ...publicRobot } = robot;
    return {
      ...(publicRobot as StoredRobot),
      mode: modeOf(robot),
      state: {
        paused: desc.state.paused,
        note: desc.state.note,
        nextRunTimes: desc.state.paused ? [] : info.nextActionTimes.map((d) => d.toISOString()),
        recentRuns: info.recentActions.map((a) => ({
          scheduledAt: a.scheduledAt.toISOString(),
          startedAt: a.takenAt.toISOString(),
          runId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
        })),
        runningScheduledRuns: info.runningActions.map((a) => a.workflow.workflowId),
        actionsTaken: info.numActionsTaken,
        skippedOverlap: info.numActionsSkippedOverlap,
        missedCatchupWindow: info.numActionsMissedCatchupWindow,
        continuous,
      },
      events,
      webhook: robot.webhook ? { ...robot.webhook, url: `/hooks/${robot.id}` } : undefined,
      links: { schedule: `${this.runs.uiBase()}/schedules/${scheduleIdOf(robot.id)}` },
    };
  }
}

/** The user-editable fields of a stored robot (what PUT replaces and PATCH merges into). */
function fieldsOf(r: StoredRobot): RobotFieldsInput {
  const { id: _id, version: _v, createdAt: _c, updatedAt: _u, webhookKeyId: _k, ...fields } = r;
  return fields;
}

/** Temporal's schedule validation errors (e.g. a spec it rejects) are the caller's fault. */
function asScheduleError(err: unknown): unknown {
  if (err instanceof TypeError) return new InvalidInput(`schedule: ${err.message}`);
  return err;
}

