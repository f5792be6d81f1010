/**
 * Use cases for robots, over the Temporal client: CRUD of definitions (kept in Temporal Schedules, see
 * ./store.ts), manual triggers, schedule control, continuous mode and signed webhook deliveries.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleDescription,
  ScheduleNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Config } from '../../lib/config';
import { createLogger } from '../../lib/log';
import { robotContinuousWorkflow } from '../../workflows/robot-continuous';
import { continuousStateQuery, continuousUpdateSignal, continuousWorkflowId, type ContinuousInput, type ContinuousState } from '../../contracts/messages';
import { generateRoleWorkflow } from '../../workflows/generate-role';
import { conflict, HttpError, notFound } from '../errors';
import type { RunService } from '../run-service';
import { durationMs } from '../../contracts/common';
import { RobotFields, RobotFieldsInput, StoredRobot } from '../../contracts/robot';
import { BackfillBody, CreateRobotBody } from '../schemas';
import { isModeNote, modeOf, NOTES, robotIdOfSchedule, runInputOf, scheduleIdOf, scheduleOptionsOf, storedRobotOf } from './store';
import { newWebhookKeyId, valueAtPath, verify, webhookSecret } from './webhook-signature';
import type { z } from 'zod';

const log = createLogger('robots');

/** An event in a robot's state: what the schedule did, skipped or missed. */
export interface RobotEvent {
  type: string;
  at?: string;
  message: string;
  count?: number;
  runId?: string;
}

export interface RobotView extends StoredRobot {
  mode: ReturnType<typeof modeOf>;
  state: {
    paused: boolean;
    note?: string;
    nextRunTimes: string[];
    /** Runs the schedule has started (newest last), as Temporal keeps them. */
    recentRuns: { scheduledAt: string; startedAt: string; runId: string }[];
    runningScheduledRuns: string[];
    actionsTaken: number;
    /** Scheduled times skipped because the previous run was still going (overlap policy). */
    skippedOverlap: number;
    /** Scheduled times missed (e.g. while Temporal was down) and older than the catch-up window. */
    missedCatchupWindow: number;
    continuous?: { workflowId: string; status: string; state?: ContinuousState };
  };
  events: RobotEvent[];
  webhook?: StoredRobot['webhook'] & { url: string };
  links: { schedule: string };
}

export interface DeliveryResult {
  status: 200 | 202;
  body: { id?: string; duplicate?: boolean; started: boolean; reason?: string };
}

/** Drop `undefined` values so a stored definition compares and serialises cleanly. */
const clean = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class RobotService {
  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly runs: RunService,
    private readonly webhookKey: string,
  ) {}

  private handle(id: string) {
    return this.client.schedule.getHandle(scheduleIdOf(id));
  }

  private async describe(id: string): Promise<{ desc: ScheduleDescription; robot: StoredRobot }> {
    try {
      const desc = await this.handle(id).describe();
      const robot = storedRobotOf(desc);
      if (!robot) throw notFound('robot');
      return { desc, robot };
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw notFound('robot');
      throw err;
    }
  }

  /** The stored definition (for runs started by id). */
  async load(id: string): Promise<StoredRobot> {
    return (await this.describe(id)).robot;
  }

  async create(body: unknown): Promise<RobotView & { webhookSecret?: string }> {
    const { id: givenId, ...rest } = CreateRobotBody.parse(body ?? {});
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
      if (err instanceof ScheduleAlreadyRunning) throw conflict(`robot ${id} already exists`);
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
  async replace(id: string, body: unknown): Promise<RobotView & { webhookSecret?: string }> {
    return this.update(id, () => RobotFields.parse(body ?? {}));
  }

  /** PATCH: JSON merge patch over the current fields, then validated as a whole. */
  async patch(id: string, body: unknown): Promise<RobotView & { webhookSecret?: string }> {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body: must be a JSON object (merge patch)');
    return this.update(id, (current) => RobotFields.parse(mergePatch(fieldsOf(current), body)));
  }

  private async update(id: string, next: (current: StoredRobot) => RobotFields, rotateWebhook = false): Promise<RobotView & { webhookSecret?: string }> {
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
    if (!robot.webhook?.enabled) throw conflict('webhooks are not enabled for this robot (set webhook.enabled)');
    const view: RobotView & { webhookSecret?: string } = await this.update(id, (current) => RobotFields.parse(fieldsOf(current)), true);
    return { id, webhookSecret: view.webhookSecret!, version: view.version };
  }

  /** Refused (409) while runs of the robot are going, unless `force`, which cancels them first. */
  async remove(id: string, force: boolean): Promise<{ id: string; deleted: true; cancelledRuns: string[] }> {
    const { desc } = await this.describe(id);
    const running = new Set(desc.info.runningActions.map((a) => a.workflow.workflowId));
    for (const r of await this.runs.list({ robotId: id, limit: 1000 })) if (r.temporalStatus === 'RUNNING') running.add(r.id);
    const loop = await this.continuousInfo({ id } as StoredRobot);
    if (running.size > 0 && !force) {
      throw conflict(`robot ${id} has ${running.size} running run(s); cancel them or delete with ?force=true`, { runningRuns: [...running] });
    }
    if (loop?.status === 'RUNNING') await this.client.workflow.getHandle(continuousWorkflowId(id)).cancel();
    await Promise.all([...running].map((runId) => this.client.workflow.getHandle(runId).cancel().catch(() => undefined)));
    await this.handle(id).delete();
    return { id, deleted: true, cancelledRuns: [...running] };
  }

  /** A manual run now, with the robot's duty or the given task. */
  async trigger(id: string, task?: string) {
    const robot = await this.load(id);
    return this.runs.startRobotRun(runInputOf(robot, 'api', { task }));
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
      throw conflict(`robot ${id} has no schedule to pause (mode ${mode})`);
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
      throw conflict(`robot ${id} has no schedule to resume (mode ${mode})`);
    }
    return this.get(id);
  }

  /** Take the schedule's action now (a scheduled run, even while paused; overlap allowed). */
  async triggerSchedule(id: string) {
    await this.describe(id);
    await this.handle(id).trigger();
    return { id, triggered: true };
  }

  async backfill(id: string, body: z.infer<typeof BackfillBody>) {
    const { robot } = await this.describe(id);
    if (!robot.schedule) throw conflict(`robot ${id} has no schedule to backfill`);
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
      throw new HttpError(503, 'no worker drafted the role in time; is a worker running?');
    }
  }

  /**
   * A webhook delivery: verify the signature, apply the filters, start at most one run per delivery id
   * (`X-MC-Delivery`, or the signature when the sender gives none).
   * The delivery id is part of the workflow id and starts use REJECT_DUPLICATE + FAIL, so the same delivery sent
   * again (or concurrently) finds the first run (for as long as Temporal retains it).
   */
  async deliver(robotId: string, raw: Buffer, headers: { signature?: string; timestamp?: string; deliveryId?: string }): Promise<DeliveryResult> {
    let robot: StoredRobot;
    try {
      robot = await this.load(robotId);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) throw new HttpError(404, 'no webhook for this robot');
      throw err;
    }
    if (!robot.webhook?.enabled || !robot.webhookKeyId) throw new HttpError(404, 'no webhook for this robot');
    const check = verify({ secret: webhookSecret(this.webhookKey, robotId, robot.webhookKeyId), body: raw, signature: headers.signature, timestamp: headers.timestamp });
    if (!check.ok) throw new HttpError(401, check.reason);
    if (headers.deliveryId !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(headers.deliveryId)) {
      throw new HttpError(400, 'x-mc-delivery: must be 1-128 characters of letters, digits, _ . : -');
    }
    let payload: unknown;
    try {
      payload = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
    const failed = (robot.webhook.filters ?? []).find((f) => valueAtPath(payload, f.path) !== f.equals);
    if (failed) return { status: 200, body: { started: false, reason: `filtered out: ${failed.path} is not ${JSON.stringify(failed.equals)}` } };

    // Without a delivery id, the signature itself identifies the delivery: replaying the same signed request
    // (within the 5 minute tolerance) finds the first run instead of starting another.
    const deliveryId = headers.deliveryId ?? `sig-${createHash('sha256').update(headers.signature!).digest('hex').slice(0, 32)}`;
    const id = `run-hook-${robotId}-${deliveryId}`;
    const input = runInputOf(robot, 'webhook', { context: { webhook: { deliveryId: headers.deliveryId, payload } } });
    try {
      await this.runs.startRobotRun(input, {
        workflowId: id,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { status: 200, body: { id, duplicate: true, started: false } };
      throw err;
    }
    return { status: 202, body: { id, started: true } };
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

/** Temporal's schedule validation errors (e.g. a spec it rejects) are the caller's fault: 400. */
function asScheduleError(err: unknown): unknown {
  if (err instanceof TypeError) return new HttpError(400, `schedule: ${err.message}`);
  return err;
}

