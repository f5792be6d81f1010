/**
 * Use cases for runs, over the Temporal client. Temporal is the system of record: listing reads visibility
 * (search attributes), showing a run asks the workflow (query) and falls back to what Temporal keeps without a
 * worker (the final result, or the memo the workflow mirrors its state into).
 */
import { randomUUID } from 'node:crypto';
import { Client, WorkflowExecutionDescription, WorkflowNotFoundError, WorkflowStartOptions, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Metrics } from '../lib/metrics';
import { runUiLink, temporalUiUrl } from '../lib/temporal';
import { robotRunWorkflow } from '../workflows';
import { approveNodeUpdate, cancelNodeUpdate, decideUpdate, hostConfirmUpdate, hostMessageUpdate, retryNodeUpdate, runStateQuery } from '../contracts/messages';
import type { NodeControlResult } from '../contracts/dag';
import { McRobotId, McStatus, McTrigger } from '../contracts/search-attributes';
import { emptyUsage } from '../contracts/pipeline';
import type { RunStatus, StageName, Trigger } from '../contracts/pipeline';
import type { RobotSnapshot, RunInput, RunMemo, RunState } from '../contracts/run';
import { conflict, notFound } from './errors';
import { runInputOf } from './robots/store';
import type { StoredRobot } from '../contracts/robot';
import type { ApprovalBody, ApproveNodeBody, CompoundBody, CreateRunBody, HostConfirmBody, HostMessageBody, ListRunsQuery } from './schemas';
import type { DagNodeState } from '../contracts/dag';

/** The robot a run gets when the request names none. */
export const DEFAULT_ROBOT: RobotSnapshot = {
  id: 'default',
  name: 'Mission Control',
  role: 'A careful generalist who researches, plans and writes clear, checked deliverables.',
  version: 0,
};

/** How long GET /api/runs/:id waits for a worker to answer the state query before falling back. */
const QUERY_DEADLINE_MS = 3000;

export interface RunSummary {
  id: string;
  status: RunStatus | 'Unknown';
  robotId?: string;
  trigger?: string;
  task?: string;
  currentStage?: string;
  startedAt?: string;
  closedAt?: string;
  temporalStatus: string;
  links: { temporalUi: string };
}

/** Listing options: the public query plus what the event stream needs. */
export type ListOptions = Partial<ListRunsQuery> & { limit: number; runningOnly?: boolean; changedSince?: Date };

export type RunView = (RunState | (Partial<RunState> & { runId: string; status: RunStatus })) & {
  /** Where the state came from: the live workflow (query), its final result, or the memo (no worker). */
  stateSource: 'query' | 'result' | 'memo';
  /** Temporal's view; the live stream (query only) leaves out the execution's run id and history length. */
  temporal: { workflowId: string; runId?: string; status: string; historyLength?: number };
  links: { temporalUi: string };
};

/** GET /task/:id/progress: the seed's progress shape, with whole ids and everything a progress panel shows. */
export interface CompoundProgress {
  id: string;
  status: RunStatus;
  stage?: StageName;
  nodes: Pick<DagNodeState, 'id' | 'title' | 'kind' | 'status' | 'dependsOn' | 'startedAt' | 'finishedAt' | 'durationMs' | 'model' | 'reason' | 'output' | 'error' | 'usage'>[];
  summary: string;
  result?: string;
  error?: RunState['error'];
}

/** Looks up a stored robot by id (RobotService.load); throws a 404 HttpError when there is none. */
export type RobotLookup = (id: string) => Promise<StoredRobot>;

export interface StartedRun {
  id: string;
  status: RunStatus;
  task: string;
  robotVersion: number;
  links: { temporalUi: string };
}

export class RunService {
  /** Called with the id of every run this service starts (the event stream follows it at once). */
  onStarted?: (id: string) => void;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly metrics?: Metrics,
    private readonly robots?: RobotLookup,
  ) {}

  async start(body: CreateRunBody, trigger: Trigger = 'api'): Promise<StartedRun> {
    // What the request says about human control overrides the robot's settings for this run.
    const control: Partial<RunInput> = {
      // Command nodes naming no desktop go to this machine's configured one (if any).
      options: { ...body.options, ...(this.config.MC_DESKTOP_QUEUE ? { desktopQueue: this.config.MC_DESKTOP_QUEUE } : {}) },
      ...(body.dag ? { dag: body.dag } : {}),
      ...(body.approvals ? { approvals: body.approvals } : {}),
      ...(body.budget ? { budget: body.budget } : {}),
      ...(body.host !== undefined ? { host: body.host ? { enabled: true } : undefined } : {}),
    };
    if (body.robotId) {
      if (!this.robots) throw notFound('robot');
      const stored = await this.robots(body.robotId);
      return this.startRobotRun({ ...runInputOf(stored, trigger, { task: body.task }), ...control });
    }
    const robot: RobotSnapshot = body.robot ? { id: 'adhoc', name: body.robot.name, role: body.robot.role, version: 0 } : DEFAULT_ROBOT;
    return this.startRobotRun({ task: body.task, robot, trigger, ...control });
  }

  /** Start one robotRunWorkflow for a prepared input; `opts` may set the workflow id and id policies. */
  async startRobotRun(input: RunInput, opts: Partial<Pick<WorkflowStartOptions, 'workflowId' | 'workflowIdReusePolicy' | 'workflowIdConflictPolicy'>> = {}): Promise<StartedRun> {
    const id = opts.workflowId ?? `run-${randomUUID()}`;
    const args: RunInput = { ...input, requestedAt: input.requestedAt ?? new Date().toISOString() };
    await this.client.workflow.start(robotRunWorkflow, {
      taskQueue: this.config.MC_TASK_QUEUE,
      ...opts,
      workflowId: id,
      args: [args],
      typedSearchAttributes: [
        { key: McStatus, value: 'Pending' },
        { key: McRobotId, value: input.robot.id },
        { key: McTrigger, value: input.trigger },
      ],
      memo: { run: { task: input.task.slice(0, 500), robotName: input.robot.name, status: 'Pending' } },
    });
    this.metrics?.runsStarted.inc({ trigger: input.trigger });
    this.onStarted?.(id);
    return { id, status: 'Pending', task: input.task, robotVersion: input.robot.version, links: { temporalUi: runUiLink(this.config, id) } };
  }

  /** Link to a run's page in the Temporal Web UI. */
  uiLink(id: string): string {
    return runUiLink(this.config, id);
  }

  /** Base URL of this namespace in the Temporal Web UI. */
  uiBase(): string {
    return `${temporalUiUrl(this.config)}/namespaces/${encodeURIComponent(this.config.TEMPORAL_NAMESPACE)}`;
  }

  async list(q: ListOptions): Promise<RunSummary[]> {
    const clauses = [`WorkflowType = 'robotRunWorkflow'`];
    if (q.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
    if (q.changedSince) clauses.push(`(ExecutionStatus = 'Running' OR CloseTime >= '${q.changedSince.toISOString()}')`);
    if (q.status) clauses.push(`McStatus = '${q.status}'`);
    // robotId matches the Id schema (no quotes), so it is safe inside the literal.
    if (q.robotId) clauses.push(`McRobotId = '${q.robotId}'`);
    const runs: RunSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(q.limit, 1000) })) {
      const memo = (wf.memo?.run ?? {}) as Partial<RunMemo>;
      runs.push({
        id: wf.workflowId,
        status: (wf.typedSearchAttributes.get(McStatus) as RunStatus | undefined) ?? 'Unknown',
        robotId: wf.typedSearchAttributes.get(McRobotId),
        trigger: wf.typedSearchAttributes.get(McTrigger),
        task: memo.task,
        currentStage: memo.currentStage,
        startedAt: wf.startTime.toISOString(),
        closedAt: wf.closeTime?.toISOString(),
        temporalStatus: wf.status.name,
        links: { temporalUi: runUiLink(this.config, wf.workflowId) },
      });
      if (runs.length >= q.limit) break;
    }
    return runs;
  }

  private async describe(id: string): Promise<WorkflowExecutionDescription> {
    try {
      const desc = await this.client.workflow.getHandle(id).describe();
      if (desc.type !== 'robotRunWorkflow') throw notFound('run');
      return desc;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound('run');
      throw err;
    }
  }

  async get(id: string): Promise<RunView> {
    const desc = await this.describe(id);
    const handle = this.client.workflow.getHandle(id);
    const temporal = { workflowId: id, runId: desc.runId, status: desc.status.name, historyLength: desc.historyLength };
    const links = { temporalUi: runUiLink(this.config, id) };
    if (desc.status.name === 'COMPLETED') {
      // A completed run returned its final state: read it from history (no worker, no replay needed).
      const state = (await handle.result()) as RunState;
      return { ...state, stateSource: 'result', temporal, links };
    }
    try {
      const state = await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(runStateQuery));
      return { ...state, stateSource: 'query', temporal, links };
    } catch {
      // No worker answered in time: what Temporal holds without one is the memo the workflow keeps up to date.
    }
    const memo = (desc.memo?.run ?? {}) as Partial<RunMemo>;
    return {
      runId: id,
      task: memo.task,
      currentStage: memo.currentStage,
      stages: memo.stageStatus
        ? Object.entries(memo.stageStatus).map(([name, status]) => ({ name: name as StageName, status, usage: emptyUsage(), calls: [] }))
        : undefined,
      usage: memo.usage,
      offline: memo.offline,
      error: memo.error,
      interruptedStage: memo.interruptedStage,
      status: (desc.typedSearchAttributes.get(McStatus) as RunStatus | undefined) ?? memo.status ?? 'Pending',
      stateSource: 'memo',
      temporal,
      links,
    };
  }

  /**
   * The state of a run the caller knows exists, as fast as Temporal can give it: the query alone (no describe
   * first); anything else (no worker, closed run) takes the full `get` path.
   */
  async live(id: string): Promise<RunView> {
    try {
      const state = await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => this.client.workflow.getHandle(id).query(runStateQuery));
      if (state.status === 'Done' || state.status === 'Failed' || state.status === 'Cancelled') return this.get(id);
      return {
        ...state,
        stateSource: 'query',
        temporal: { workflowId: id, status: 'RUNNING' },
        links: { temporalUi: runUiLink(this.config, id) },
      };
    } catch {
      return this.get(id);
    }
  }

  async cancel(id: string): Promise<{ id: string; cancelRequested: true }> {
    const desc = await this.describe(id);
    if (desc.status.name !== 'RUNNING') {
      const status = desc.typedSearchAttributes.get(McStatus) ?? desc.status.name;
      throw conflict(`run already finished (${status})`, { status });
    }
    await this.client.workflow.getHandle(id).cancel();
    return { id, cancelRequested: true };
  }

  /** A run that is still open, or 409 (finished) / 404 (unknown). */
  private async requireOpen(id: string): Promise<void> {
    const desc = await this.describe(id);
    if (desc.status.name !== 'RUNNING') {
      const status = desc.typedSearchAttributes.get(McStatus) ?? desc.status.name;
      throw conflict(`run already finished (${status})`, { status });
    }
  }

  /**
   * Act on one node of a run's task graph through a workflow update; the workflow's validator decides whether
   * the action applies now (→ 409 with its reason when not).
   */
  async nodeAction(id: string, nodeId: string, action: 'cancel' | 'retry' | 'approve', body?: ApproveNodeBody): Promise<NodeControlResult> {
    await this.requireOpen(id);
    const handle = this.client.workflow.getHandle(id);
    try {
      if (action === 'cancel') return await handle.executeUpdate(cancelNodeUpdate, { args: [{ nodeId }] });
      if (action === 'retry') return await handle.executeUpdate(retryNodeUpdate, { args: [{ nodeId }] });
      return await handle.executeUpdate(approveNodeUpdate, { args: [{ nodeId, decision: body!.decision, feedback: body!.feedback }] });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw conflict((err.cause as Error | undefined)?.message ?? err.message, { nodeId, action });
      throw err;
    }
  }


  /** A compound goal (seed API): an ordinary run with trigger `compound`. */
  async startCompound(body: CompoundBody): Promise<{ id: string }> {
    // The built-in robot, or a stored one (404 when unknown).
    const robotId = body.robotId && body.robotId !== DEFAULT_ROBOT.id ? body.robotId : undefined;
    const { id } = await this.start({ task: body.goal, ...(robotId ? { robotId } : {}) }, 'compound');
    return { id };
  }

  async progress(id: string): Promise<CompoundProgress> {
    const run = await this.get(id);
    const dag = run.dag;
    const delivered = (run.result as { content?: string } | undefined)?.content;
    const stages = run.stages ?? [];
    return {
      id,
      status: run.status,
      stage: run.currentStage,
      nodes: (dag?.nodes ?? []).map((n) => ({
        id: n.id,
        title: n.title,
        kind: n.kind,
        status: n.status,
        dependsOn: n.dependsOn,
        startedAt: n.startedAt,
        finishedAt: n.finishedAt,
        durationMs: n.durationMs,
        model: n.model,
        reason: n.reason,
        output: n.output,
        error: n.error,
        usage: n.usage,
      })),
      summary: dag?.summary || stages.filter((s) => s.summary).map((s) => `${s.name}: ${s.summary}`).join('\n'),
      result: delivered ?? dag?.result,
      error: run.error,
    };
  }

  /**
   * A decision at a gate, through the workflow's `decide` update: a stale or malformed decision is rejected by its
   * validator before anything changes (→ 409 / 400, see errors.ts); an accepted one answers with the new state.
   */
  async decide(id: string, body: ApprovalBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [{ ...body, channel: 'api' }] });
  }

  /** An answer to the Robot Host; answers with the state once the host has replied. */
  async message(id: string, body: HostMessageBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.client.workflow.getHandle(id).executeUpdate(hostMessageUpdate, { args: [body] });
  }

  /** Confirm the task the Robot Host stated; the pipeline starts. */
  async confirm(id: string, body: HostConfirmBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.client.workflow.getHandle(id).executeUpdate(hostConfirmUpdate, { args: [body] });
  }

  /** Number of runs per status, from visibility (for /metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const statuses: RunStatus[] = ['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled'];
    await Promise.all(
      statuses.map(async (s) => {
        const { count } = await this.client.workflow.count(`WorkflowType = 'robotRunWorkflow' AND McStatus = '${s}'`);
        counts[s] = count;
      }),
    );
    return counts;
  }
}
