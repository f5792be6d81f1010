/**
 * Reading and controlling runs, over the Temporal client (starting them is the startRun use case). Temporal is the
 * system of record: listing reads visibility (search attributes), showing a run asks the workflow (query) and
 * falls back to what Temporal keeps without a worker (the final result, or the memo the workflow mirrors its state
 * into). Throws domain errors (./errors.ts); returns the shapes of ./schemas.ts.
 */
import {
  Client,
  WorkflowExecutionDescription,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Config } from '../lib/config';
import { runUiLink, temporalUiUrl } from '../lib/temporal';
import {
  approveNodeUpdate,
  cancelNodeUpdate,
  decideUpdate,
  hostConfirmUpdate,
  hostMessageUpdate,
  retryNodeUpdate,
  robotSlotsQuery,
  robotSlotsWorkflowId,
  runStateQuery,
} from '../contracts/messages';
import type { NodeControlResult } from '../contracts/dag';
import { McRobotId, McStatus, McTrigger } from '../contracts/search-attributes';
import { emptyUsage, RUN_STATUSES } from '../contracts/pipeline';
import type { RunStatus, StageName } from '../contracts/pipeline';
import type { RunMemo, RunState } from '../contracts/run';
import { Conflict, NotFound, Unavailable } from './errors';
import type { ApprovalBody, ApproveNodeBody, CompoundProgress, HostConfirmBody, HostMessageBody, ListRunsQuery, RunSummary, RunView } from './schemas';

/** How long GET /api/runs/:id waits for a worker to answer the state query before falling back. */
const QUERY_DEADLINE_MS = 3000;

export type { CompoundProgress, RunSummary, RunView };

/** Listing options: the public query plus what the event stream and the charts need. */
export type ListOptions = Partial<ListRunsQuery> & { limit: number; runningOnly?: boolean; changedSince?: Date; startedSince?: Date; closedSince?: Date };

/** Finished runs' final states kept by this process (they never change; Temporal stays the source). */
const FINAL_STATES_KEPT = 300;

export type NodeAction = 'cancel' | 'retry' | 'approve';

/** What this process knows live of a running run, fresher than visibility (see RunService.followLive). */
export type LiveProgress = Pick<RunSummary, 'currentStage' | 'usage' | 'offline'>;

export class RunService {
  /** Final states of completed runs by `workflowId/runId`, least recently used first: reading one means reading its history. */
  private readonly finalStates = new Map<string, RunState>();
  /** Where the progress of running runs followed live comes from (the event stream's watcher), if anywhere. */
  private liveProgress?: (id: string) => LiveProgress | undefined;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  /** The final state a completed run returned, from its history (cached: it cannot change). */
  private async finalState(id: string, runId: string): Promise<RunState> {
    const key = `${id}/${runId}`;
    const known = this.finalStates.get(key);
    if (known) {
      this.finalStates.delete(key);
      this.finalStates.set(key, known);
      return known;
    }
    const state = (await this.client.workflow.getHandle(id, runId).result()) as RunState;
    this.finalStates.set(key, state);
    if (this.finalStates.size > FINAL_STATES_KEPT) this.finalStates.delete(this.finalStates.keys().next().value!);
    return state;
  }

  /** Link to a run's page in the Temporal Web UI. */
  uiLink(id: string): string {
    return runUiLink(this.config, id);
  }

  /** Base URL of this namespace in the Temporal Web UI. */
  uiBase(): string {
    return `${temporalUiUrl(this.config)}/namespaces/${encodeURIComponent(this.config.TEMPORAL_NAMESPACE)}`;
  }

  /**
   * Answer the stage and usage of running runs from what `source` follows live. Runs mirror themselves into
   * visibility at changes of status, gate and error only (workflows/run/recorder.ts, STATUS_MIRROR_PATCH), so a
   * running run's listed stage and usage are those of its last status change unless this process follows the run.
   */
  followLive(source: (id: string) => LiveProgress | undefined): void {
    this.liveProgress = source;
  }

  async list(q: ListOptions): Promise<RunSummary[]> {
    const clauses = [`WorkflowType = 'robotRunWorkflow'`];
    if (q.runningOnly) clauses.push(`ExecutionStatus = 'Running'`);
    if (q.changedSince) clauses.push(`(ExecutionStatus = 'Running' OR CloseTime >= '${q.changedSince.toISOString()}')`);
    if (q.status) clauses.push(`McStatus = '${q.status}'`);
    // closedBefore and startedSince are ISO times checked by their schemas (no quotes), safe inside the literal.
    if (q.closedBefore) clauses.push(`CloseTime < '${new Date(q.closedBefore).toISOString()}'`);
    if (q.startedSince) clauses.push(`StartTime >= '${q.startedSince.toISOString()}'`);
    if (q.closedSince) clauses.push(`CloseTime >= '${q.closedSince.toISOString()}'`);
    // robotId matches the Id schema (no quotes), so it is safe inside the literal.
    if (q.robotId) clauses.push(`McRobotId = '${q.robotId}'`);
    const runs: RunSummary[] = [];
    for await (const wf of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(q.limit, 1000) })) {
      const memo = (wf.memo?.run ?? {}) as Partial<RunMemo>;
      runs.push({
        id: wf.workflowId,
        status: (wf.typedSearchAttributes.get(McStatus) as RunStatus | undefined) ?? 'Unknown',
        robotId: wf.typedSearchAttributes.get(McRobotId),
        robotName: memo.robotName,
        trigger: wf.typedSearchAttributes.get(McTrigger),
        task: memo.task,
        currentStage: memo.currentStage,
        startedAt: wf.startTime.toISOString(),
        closedAt: wf.closeTime?.toISOString(),
        temporalStatus: wf.status.name,
        usage: memo.usage,
        gate: memo.gate,
        offline: memo.offline,
        error: memo.error,
        interruptedStage: memo.interruptedStage,
        links: { temporalUi: runUiLink(this.config, wf.workflowId) },
        ...(wf.status.name === 'RUNNING' ? this.liveProgress?.(wf.workflowId) : undefined),
      });
      if (runs.length >= q.limit) break;
    }
    return runs;
  }

  private async describe(id: string): Promise<WorkflowExecutionDescription> {
    try {
      const desc = await this.client.workflow.getHandle(id).describe();
      if (desc.type !== 'robotRunWorkflow') throw NotFound.of('run');
      return desc;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw NotFound.of('run');
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
      const state = await this.finalState(id, desc.runId);
      return { ...state, stateSource: 'result', temporal, links };
    }
    try {
      const state = await this.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(runStateQuery));
      const slot = await this.slotPlace(state);
      return { ...state, ...(slot ? { slot } : {}), stateSource: 'query', temporal, links };
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
   * Where a Pending run that waits for a concurrency slot stands in line, from its robot's semaphore workflow;
   * undefined when it does not wait (or the semaphore does not answer quickly).
   */
  private async slotPlace(state: RunState): Promise<RunView['slot']> {
    if (state.status !== 'Pending') return undefined;
    const waited = state.events.some((e) => e.type === 'run.waiting');
    const granted = state.events.some((e) => e.type === 'run.slot');
    if (!waited || granted) return undefined;
    try {
      const slots = await this.client.withDeadline(Date.now() + 1000, () =>
        this.client.workflow.getHandle(robotSlotsWorkflowId(state.robot.id)).query(robotSlotsQuery),
      );
      const i = slots.waiting.indexOf(state.runId);
      return i < 0 ? undefined : { position: i + 1, waiting: slots.waiting.length, holders: slots.holders.length, limit: slots.limit };
    } catch {
      return undefined;
    }
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
    await this.requireOpen(id);
    await this.client.workflow.getHandle(id).cancel();
    return { id, cancelRequested: true };
  }

  /** A run that is still open; Conflict when it has finished, NotFound when there is none. */
  private async requireOpen(id: string): Promise<void> {
    const desc = await this.describe(id);
    if (desc.status.name !== 'RUNNING') {
      const status = desc.typedSearchAttributes.get(McStatus) ?? desc.status.name;
      throw new Conflict(`run already finished (${status})`, { status });
    }
  }

  /**
   * Act on one node of a run's task graph through a workflow update; the workflow's validator decides whether
   * the action applies now (Conflict with its reason when not).
   */
  async nodeAction(id: string, nodeId: string, action: NodeAction, body?: ApproveNodeBody): Promise<NodeControlResult> {
    await this.requireOpen(id);
    try {
      if (action === 'cancel') return await this.update(id, cancelNodeUpdate, [{ nodeId }]);
      if (action === 'retry') return await this.update(id, retryNodeUpdate, [{ nodeId }]);
      return await this.update(id, approveNodeUpdate, [{ nodeId, decision: body!.decision, feedback: body!.feedback }]);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new Conflict((err.cause as Error | undefined)?.message ?? err.message, { nodeId, action });
      throw err;
    }
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
   * validator before anything changes (the update fails: see http/error-middleware.ts); an accepted one answers
   * with the new state.
   */
  async decide(id: string, body: ApprovalBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.closedMeanwhile(() => this.update(id, decideUpdate, [{ ...body, channel: 'api' }]));
  }

  /**
   * An update to a run found open a moment ago: when the run closes in between (a retried decision arriving as the
   * run finishes), Temporal no longer finds it to update; that is the same Conflict as a run already finished.
   */
  private async closedMeanwhile<T>(update: () => Promise<T>): Promise<T> {
    try {
      return await update();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Conflict('run already finished');
      throw err;
    }
  }

  /** An answer to the Robot Host; answers with the state once the host has replied. */
  async message(id: string, body: HostMessageBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.update(id, hostMessageUpdate, [body]);
  }

  /** Confirm the task the Robot Host stated; the pipeline starts. */
  async confirm(id: string, body: HostConfirmBody): Promise<RunState> {
    await this.requireOpen(id);
    return this.update(id, hostConfirmUpdate, [body]);
  }

  /**
   * Send an update to a run and wait for its answer. Only a worker can take an update (its validator runs in the
   * workflow), so the wait for a worker to *accept* it is bounded (MC_UPDATE_ACCEPT_TIMEOUT_SECONDS): past it the
   * request is a 503 saying no worker took it, instead of hanging. Once accepted, the answer may take as long as
   * the work it waits for (the Robot Host's reply is a model call).
   */
  private async update<Ret, Arg>(id: string, def: UpdateDefinition<Ret, [Arg]>, args: [Arg]): Promise<Ret> {
    const seconds = this.config.MC_UPDATE_ACCEPT_TIMEOUT_SECONDS;
    const handle = this.client.workflow.getHandle(id);
    let accepted;
    try {
      accepted = await this.client.withDeadline(Date.now() + seconds * 1000, () => handle.startUpdate(def, { args, waitForStage: WorkflowUpdateStage.ACCEPTED }));
    } catch (err) {
      if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) throw err;
      throw new Unavailable(
        `no worker took the request within ${seconds} s (is a worker running on task queue ${this.config.MC_TASK_QUEUE}?); it was not confirmed and may still apply when a worker picks the run up — a decision sent again with the same decisionId applies once`,
      );
    }
    return accepted.result();
  }

  /** Number of runs per status, from visibility (for /metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    await Promise.all(
      RUN_STATUSES.map(async (s) => {
        const { count } = await this.client.workflow.count(`WorkflowType = 'robotRunWorkflow' AND McStatus = '${s}'`);
        counts[s] = count;
      }),
    );
    return counts;
  }
}
