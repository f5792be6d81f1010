/**
 * A run: what starts it (RunInput), the robot as the run sees it, its per-run knobs, and everything known about it
 * (RunState, and the compact RunMemo kept in Temporal for readers without a worker).
 */
import { z } from 'zod';
import { ArtifactInfo } from './artifacts';
import { IsoTime } from './common';
import { DeliveryPlan, DeliveryState } from './delivery';
import { DagNodeSpec, DagState, NODE_FAILURE_POLICIES } from './dag';
import { ApprovalRecord, ApprovalSettings, BudgetSettings, GateName, HostSettings, HostState, PendingGate } from './gates';
import { ModelCallRecord, ModelTier, RunStatus, StageName, StageStatus, STAGES, Trigger, Usage } from './pipeline';

/** One model choice: a tier of the routing table, an explicit model name, a temperature. */
export const ModelOverride = z
  .object({
    tier: ModelTier.optional(),
    model: z.string().max(200).optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();
export type ModelOverride = z.infer<typeof ModelOverride>;

/** A robot's overrides: per work kind (plan, text, extract...) and per stage; the kind override wins. */
export const RoutingOverrides = z.object({
  kinds: z.record(z.string(), ModelOverride).optional(),
  stages: z.record(StageName, ModelOverride).optional(),
});
export type RoutingOverrides = z.infer<typeof RoutingOverrides>;

/** A custom agent that takes a stage's role. */
export const StageAgent = z.object({ name: z.string().trim().min(1).max(100), instructions: z.string().min(1).max(20_000) }).strict();

/** Per-stage instructions: a prompt addition, or a custom agent (name + instructions) that takes the stage's role. */
export const StageInstructions = z.object({ promptAddition: z.string().max(4000).optional(), agent: StageAgent.optional() });

/** The robot as the run sees it: a snapshot taken when the run starts, never changed afterwards. */
export const RobotSnapshot = z.object({
  id: z.string(),
  name: z.string(),
  role: z.string(),
  /** Definition version this run was started with (robots are versioned; ad-hoc robots are version 0). */
  version: z.number(),
  /**
   * Registry tools this robot may use in its task graph (activities/tools/index.ts). Absent: DEFAULT_ROBOT_TOOLS,
   * which never includes `command`: running programs on a desktop must be granted explicitly.
   */
  tools: z.array(z.string()).optional(),
  /** Model choices of this robot that win over the routing table (see activities/models/router.ts). */
  routing: RoutingOverrides.optional(),
  /** Added to that stage's system prompt (the Tasks stage: the planner and every node). */
  stageAgents: z.record(StageName, StageInstructions).optional(),
});
export type RobotSnapshot = z.infer<typeof RobotSnapshot>;

/** Tools a robot gets when its definition lists none. */
export const DEFAULT_ROBOT_TOOLS: readonly string[] = ['http_fetch'];

/** The robot a run gets when the request names none. */
export const DEFAULT_ROBOT: RobotSnapshot = {
  id: 'default',
  name: 'Mission Control',
  role: 'A careful generalist who researches, plans and writes clear, checked deliverables.',
  version: 0,
};

/** Per-run knobs. Everything has a default in the workflow. */
export const RunOptions = z
  .object({
    /** Maximum attempts of each stage activity (Temporal retries), default 3. */
    stageMaxAttempts: z.number().int().min(1).max(20).optional(),
    /** Start-to-close timeout of each stage activity in seconds, default 600. */
    stageTimeoutSeconds: z.number().int().min(5).max(86_400).optional(),
    /** First retry delay in milliseconds, default 1000 (not settable over the API). */
    retryInitialIntervalMs: z.number().int().min(1).max(600_000).optional(),
    /** Task graph: nodes running at once, default 8. */
    dagParallelism: z.number().int().min(1).max(256).optional(),
    /**
     * Task graph: what a node failing after its retries does once the rest of the graph has finished:
     * `fail` the stage (default), `continue` with the partial result, or `wait` for a person to retry it.
     */
    onNodeFailure: z.enum(NODE_FAILURE_POLICIES).optional(),
    /** Task graph: Temporal attempts of each node activity (network errors, 5xx), default 3. */
    nodeMaxAttempts: z.number().int().min(1).max(20).optional(),
    /** Task graph: check each node's output against its expected output with a model verdict, default true. */
    validateNodes: z.boolean().optional(),
    /** Task graph: re-runs of a node with the validator's feedback, default 1. */
    maxNodeRevisions: z.number().int().min(0).max(5).optional(),
    /** Delivery: Temporal attempts of each destination (5xx, 429, network errors), default 5. */
    deliveryMaxAttempts: z.number().int().min(1).max(20).optional(),
    /** Task graph: desktop task queue that runs `command` nodes naming no worker (the API fills in MC_DESKTOP_QUEUE). */
    desktopQueue: z.string().optional(),
  })
  .strict();
export type RunOptions = z.infer<typeof RunOptions>;

/** The knobs a caller may set over the API (the others are the server's). */
export const CallerRunOptions = RunOptions.omit({ retryInitialIntervalMs: true, desktopQueue: true });

/** What starts a robotRunWorkflow. */
export const RunInput = z.object({
  task: z.string(),
  /**
   * A task graph supplied by the caller: the Tasks stage checks it exactly like a planner answer (schema, graph,
   * tools) and runs it instead of asking the model to plan.
   */
  dag: z.array(DagNodeSpec).optional(),
  robot: RobotSnapshot,
  trigger: Trigger,
  /** ISO time the API accepted the request (the workflow's own clock starts later). */
  requestedAt: IsoTime.optional(),
  options: RunOptions.optional(),
  approvals: ApprovalSettings.optional(),
  budget: BudgetSettings.optional(),
  host: HostSettings.optional(),
  /** Extra context for the run, e.g. a webhook payload. */
  context: z.record(z.unknown()).optional(),
  /**
   * Most runs of this robot at once (the robot's concurrency limit). When set, the run waits as Pending for a slot
   * from the robot's semaphore workflow before its first stage.
   */
  concurrencyLimit: z.number().int().min(1).optional(),
  /** Where the result goes after the `final` gate, and what a failed destination means (the robot's `delivery`). */
  delivery: DeliveryPlan.optional(),
});
export type RunInput = z.infer<typeof RunInput>;

export const StageState = z.object({
  name: StageName,
  status: StageStatus,
  startedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
  durationMs: z.number().optional(),
  output: z.unknown().optional(),
  summary: z.string().optional(),
  usage: Usage,
  calls: z.array(ModelCallRecord),
  error: z.string().optional(),
  /** Times a reviewer sent this stage back with feedback. */
  revisions: z.number().optional(),
});
export type StageState = z.infer<typeof StageState>;

export const RunEvent = z.object({
  seq: z.number(),
  at: IsoTime,
  type: z.string(),
  stage: StageName.optional(),
  message: z.string(),
});
export type RunEvent = z.infer<typeof RunEvent>;

export const RunError = z.object({ stage: StageName.optional(), type: z.string().optional(), message: z.string() });
export type RunError = z.infer<typeof RunError>;

/** Everything known about a run; returned by the `runState` query and as the workflow's result. */
export const RunState = z.object({
  runId: z.string(),
  task: z.string(),
  robot: RobotSnapshot,
  trigger: Trigger,
  status: RunStatus,
  currentStage: StageName.optional(),
  stages: z.array(StageState),
  usage: Usage,
  /** True when any model call of this run was answered by the offline model. */
  offline: z.boolean(),
  createdAt: IsoTime,
  startedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
  error: RunError.optional(),
  /** The stage that was running when the run was cancelled. */
  interruptedStage: StageName.optional(),
  result: z.unknown().optional(),
  /** The Tasks stage's graph: nodes with status, timings, model, usage; rolling summary; result. */
  dag: DagState.optional(),
  /** The run's extra context as given at start (e.g. the webhook payload). */
  context: z.record(z.unknown()).optional(),
  /** The gate the run waits at (status Review). */
  gate: PendingGate.optional(),
  /** Every decision taken, in order. */
  approvals: z.array(ApprovalRecord),
  /** Caps in force (raised at budget gates). */
  budget: BudgetSettings.optional(),
  /** Robot Host conversation, when the run has one. */
  host: HostState.optional(),
  /** Each destination's delivery (status, attempts, response, at, error) and the warning of `onFailure: warn`. */
  delivery: DeliveryState.optional(),
  /** Files kept outside the history: delivered files, outputs too large for it. Served at /api/runs/:id/artifacts/:name. */
  artifacts: z.array(ArtifactInfo).optional(),
  events: z.array(RunEvent),
});
export type RunState = z.infer<typeof RunState>;

/** Compact state kept in the workflow memo so that the API can show a run without a worker. */
export const RunMemo = z.object({
  task: z.string(),
  robotName: z.string(),
  status: RunStatus,
  currentStage: StageName.optional(),
  stageStatus: z.record(StageName, StageStatus),
  usage: Usage,
  offline: z.boolean(),
  error: RunError.optional(),
  interruptedStage: StageName.optional(),
  /** The gate the run waits at, for the board. */
  gate: z.object({ gate: GateName, since: IsoTime, deadline: IsoTime.optional() }).optional(),
});
export type RunMemo = z.infer<typeof RunMemo>;

/** Characters of the task kept in the memo. */
export const MEMO_TASK_CHARS = 500;

/**
 * The memo a run starts with, before its first workflow task: whoever starts a run (the API, a schedule, the
 * continuous loop) writes this, so the board shows the run at once.
 */
export const initialRunMemo = (input: Pick<RunInput, 'task' | 'robot'>) => ({
  run: { task: input.task.slice(0, MEMO_TASK_CHARS), robotName: input.robot.name, status: 'Pending' as RunStatus },
});

export { STAGES };
