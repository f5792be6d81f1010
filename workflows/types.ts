/**
 * Shapes shared by the workflow, the activities and the API.
 *
 * This module is imported by workflow code, so it must stay pure: types and constants only,
 * no Node imports, no I/O.
 */
import type { DagNodeSpec, DagState } from './dag';

/** The five pipeline stages, in the order a run goes through them. */
export const STAGES = ['inspiration', 'goals', 'tasks', 'validation', 'delivery'] as const;
export type StageName = (typeof STAGES)[number];

/** Board columns. Also the value of the `McStatus` search attribute. */
export const RUN_STATUSES = ['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_STATUSES: readonly RunStatus[] = ['Done', 'Failed', 'Cancelled'];

export type StageStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'skipped';

/** How a run came to exist. Also the value of the `McTrigger` search attribute. */
export const TRIGGERS = ['api', 'schedule', 'webhook', 'chat', 'compound', 'continuous'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** The robot as the run sees it: a snapshot taken when the run starts, never changed afterwards. */
export interface RobotSnapshot {
  id: string;
  name: string;
  role: string;
  /** Definition version this run was started with (robots are versioned; ad-hoc robots are version 0). */
  version: number;
  /**
   * Registry tools this robot may use in its task graph (activities/tools/index.ts). Absent: DEFAULT_ROBOT_TOOLS,
   * which never includes `command`: running programs on a desktop must be granted explicitly.
   */
  tools?: string[];
  /** Model choices of this robot that win over the routing table (see activities/models/router.ts). */
  routing?: RoutingOverrides;
  /**
   * Per-stage instructions from the definition: a prompt addition, or a custom agent (name + instructions) that
   * takes the stage's role. Added to that stage's system prompt (the Tasks stage: the planner and every node).
   */
  stageAgents?: Partial<Record<StageName, { promptAddition?: string; agent?: { name: string; instructions: string } }>>;
}

/** Tools a robot gets when its definition lists none. */
export const DEFAULT_ROBOT_TOOLS: readonly string[] = ['http_fetch'];

/** One model choice: a tier of the routing table, an explicit model name, a temperature. */
export interface ModelOverride {
  tier?: 'large' | 'fast' | 'vision';
  model?: string;
  temperature?: number;
}

/** A robot's overrides: per work kind (plan, text, extract...) and per stage; the kind override wins. */
export interface RoutingOverrides {
  kinds?: Partial<Record<string, ModelOverride>>;
  stages?: Partial<Record<StageName, ModelOverride>>;
}

/** Per-run knobs. Everything has a default in the workflow. */
export interface RunOptions {
  /** Maximum attempts of each stage activity (Temporal retries), default 3. */
  stageMaxAttempts?: number;
  /** Start-to-close timeout of each stage activity in seconds, default 600. */
  stageTimeoutSeconds?: number;
  /** First retry delay in milliseconds, default 1000. */
  retryInitialIntervalMs?: number;
  /** Task graph: nodes running at once, default 8. */
  dagParallelism?: number;
  /**
   * Task graph: what a node failing after its retries does once the rest of the graph has finished:
   * `fail` the stage (default), `continue` with the partial result, or `wait` for a person to retry it.
   */
  onNodeFailure?: 'fail' | 'continue' | 'wait';
  /** Task graph: Temporal attempts of each node activity (network errors, 5xx), default 3. */
  nodeMaxAttempts?: number;
  /** Task graph: check each node's output against its expected output with a model verdict, default true. */
  validateNodes?: boolean;
  /** Task graph: re-runs of a node with the validator's feedback, default 1. */
  maxNodeRevisions?: number;
  /** Task graph: desktop task queue that runs `command` nodes naming no worker (the API fills in MC_DESKTOP_QUEUE). */
  desktopQueue?: string;
}

/** Where an approval gate stands: before a stage, or `final` (after Delivery is formatted, before it takes effect). */
export type GatePoint = StageName | 'final';
export const GATE_POINTS: readonly GatePoint[] = [...STAGES, 'final'];

/** Every gate a run can wait at: the configured points, and `budget` (opened when the next step would overspend). */
export type GateName = GatePoint | 'budget';
export const GATE_NAMES: readonly GateName[] = [...GATE_POINTS, 'budget'];

/** One approval gate (human review). Defaults live in the workflow. */
export interface GateSettings {
  at: GatePoint;
  /** Deadline of the decision in seconds (default: none, waits until decided or cancelled). */
  timeoutSeconds?: number;
  /** What happens at the deadline (default `reject`). */
  onTimeout?: 'reject' | 'approve' | 'escalate';
  /** With `escalate`: the second deadline after the escalation notice (default: timeoutSeconds); then the gate rejects. */
  escalationTimeoutSeconds?: number;
}

/** Who hears about a gate nobody decided in time: the robot's "reports to" contact. */
export interface EscalationContact {
  name?: string;
  /** http(s) URL that receives a JSON POST (a chat webhook, a pager, an email relay). */
  webhookUrl: string;
}

export interface ApprovalSettings {
  gates: GateSettings[];
  /** How many times a reviewer may send work back with feedback, per gate (default 3). */
  maxRevisions?: number;
  /** Contact notified when a gate with `onTimeout: 'escalate'` reaches its deadline. */
  escalateTo?: EscalationContact;
}

/** Spending caps of a run. The workflow stops at a budget gate before a call that would exceed them. */
export interface BudgetSettings {
  maxTokens?: number;
  maxCostUsd?: number;
}

/** What is left of a budget, handed to a model-calling activity so that it can refuse an overspending call. */
export interface BudgetAllowance {
  remainingTokens?: number;
  remainingCostUsd?: number;
}

/** Failure type of a model call refused by the budget (see activities/models/budget.ts). */
export const BUDGET_EXCEEDED = 'BudgetExceeded';

/** Details of a BudgetExceeded failure: the calls already billed, the stage's progress, what the refused call needed. */
export interface BudgetExceededDetails {
  calls: ModelCallRecord[];
  checkpoint?: unknown;
  needed: { tokens: number; costUsd: number };
  remaining: BudgetAllowance;
}

export const DECISIONS = ['approve', 'reject', 'revise'] as const;
export type Decision = (typeof DECISIONS)[number];
export const DECISION_CHANNELS = ['api', 'signal', 'timeout', 'ui'] as const;
export type DecisionChannel = (typeof DECISION_CHANNELS)[number];

/**
 * A decision at a gate, as the `decision` signal and the `decide` update carry it.
 * `gate` names the gate the sender saw (omitted: whatever gate the run waits at). `decisionId` makes a retried
 * decision harmless: the same id twice is applied once.
 */
export interface DecisionInput {
  decision: Decision;
  gate?: GateName;
  /** Required with `revise`: what to change. With `reject`: the reason. */
  feedback?: string;
  /** Who decided (free text: a user name, an email, "ops"). */
  by?: string;
  channel?: DecisionChannel;
  decisionId?: string;
  /** At the budget gate, `approve` raises the caps by these amounts. */
  raiseBy?: { tokens?: number; costUsd?: number };
}

/** The gate a run is waiting at. */
export interface PendingGate {
  /** Unique per visit (`delivery#2` is the second time the run waits before Delivery). */
  key: string;
  gate: GateName;
  /** The stage a `revise` sends back (the one before the gate); absent when there is nothing to revise. */
  revisable?: StageName;
  /** What is to be approved: the outputs so far (brief, goals, tasks, validation report, formatted delivery). */
  subject: Partial<Record<StageName, unknown>>;
  since: string;
  /** When the gate times out (absent: no deadline). */
  deadline?: string;
  onTimeout?: 'reject' | 'approve' | 'escalate';
  escalated?: boolean;
  /** Revisions used at this gate so far, and the limit. */
  revisions: number;
  maxRevisions: number;
  /** At the budget gate: what was spent, the caps, and what the next step needs. */
  budget?: { spent: Usage; caps: BudgetSettings; stage?: StageName; reason: string; needed: { tokens: number; costUsd: number } };
}

/** A decision as recorded in the run state: who, when, through which channel, what they said. */
export interface ApprovalRecord {
  gate: GateName;
  key: string;
  decision: Decision;
  by: string;
  channel: DecisionChannel;
  at: string;
  feedback?: string;
  decisionId?: string;
  raiseBy?: { tokens?: number; costUsd?: number };
}

/** Robot Host: a clarifying conversation before the pipeline starts (manual runs only). */
export interface HostSettings {
  enabled: boolean;
  /** Host turns before the host must settle on a task (default 4). */
  maxTurns?: number;
}

export interface HostMessage {
  role: 'host' | 'person';
  text: string;
  at: string;
}

/** The Robot Host conversation of a run, in state. */
export interface HostState {
  /** asking: waits for an answer; confirming: states the task and waits for confirm; confirmed: pipeline started. */
  status: 'thinking' | 'asking' | 'confirming' | 'confirmed';
  transcript: HostMessage[];
  confirmedTask?: string;
  turns: number;
}

/** What the host model answers each turn. */
export interface HostTurn {
  questions?: string[];
  confirmedTask?: string;
  satisfied: boolean;
}

export interface HostTurnInput {
  runId: string;
  task: string;
  robot: RobotSnapshot;
  transcript: HostMessage[];
  /** The last allowed turn: the host must settle. */
  mustSettle: boolean;
  budget?: BudgetAllowance;
}

export interface RunInput {
  task: string;
  /**
   * A task graph supplied by the caller: the Tasks stage checks it exactly like a planner answer (schema, graph,
   * tools) and runs it instead of asking the model to plan.
   */
  dag?: DagNodeSpec[];
  robot: RobotSnapshot;
  trigger: Trigger;
  /** ISO time the API accepted the request (the workflow's own clock starts later). */
  requestedAt?: string;
  options?: RunOptions;
  approvals?: ApprovalSettings;
  budget?: BudgetSettings;
  host?: HostSettings;
  /** Extra context for the run, e.g. a webhook payload. */
  context?: Record<string, unknown>;
  /**
   * Most runs of this robot at once (the robot's concurrency limit). When set, the run waits as Pending for a slot
   * from the robot's semaphore workflow (workflows/robot-slots.ts) before its first stage.
   */
  concurrencyLimit?: number;
}

/** One model call as billed: what every stage reports for each request it made. */
export interface ModelCallRecord {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyMs: number;
  /** True when the built-in offline model answered (no provider configured). */
  offline: boolean;
  /** Why this model was chosen (routing table entry, override...). */
  reason?: string;
}

export interface Usage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface StageState {
  name: StageName;
  status: StageStatus;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  output?: unknown;
  summary?: string;
  usage: Usage;
  calls: ModelCallRecord[];
  error?: string;
  /** Times a reviewer sent this stage back with feedback. */
  revisions?: number;
}

export interface RunEvent {
  seq: number;
  at: string;
  type: string;
  stage?: StageName;
  message: string;
}

export interface RunError {
  stage?: StageName;
  type?: string;
  message: string;
}

/** Everything known about a run; returned by the `runState` query. */
export interface RunState {
  runId: string;
  task: string;
  robot: RobotSnapshot;
  trigger: Trigger;
  status: RunStatus;
  currentStage?: StageName;
  stages: StageState[];
  usage: Usage;
  /** True when any model call of this run was answered by the offline model. */
  offline: boolean;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: RunError;
  /** The stage that was running when the run was cancelled. */
  interruptedStage?: StageName;
  result?: unknown;
  /** The Tasks stage's graph: nodes with status, timings, model, usage; rolling summary; result. */
  dag?: DagState;
  /** The run's extra context as given at start (e.g. the webhook payload). */
  context?: Record<string, unknown>;
  /** The gate the run waits at (status Review). */
  gate?: PendingGate;
  /** Every decision taken, in order. */
  approvals: ApprovalRecord[];
  /** Caps in force (raised at budget gates). */
  budget?: BudgetSettings;
  /** Robot Host conversation, when the run has one. */
  host?: HostState;
  events: RunEvent[];
}

/** What every stage activity receives. */
export interface StageInput {
  runId: string;
  stage: StageName;
  task: string;
  robot: RobotSnapshot;
  /** Outputs of the stages that ran before this one. */
  context: Partial<Record<StageName, unknown>>;
  /** The run's extra context (RunInput.context), e.g. a webhook payload. */
  runContext?: Record<string, unknown>;
  /** Reviewer feedback on earlier versions of this stage's output (revise decisions), oldest first. */
  feedback?: string[];
  /** What is left of the run's budget; the activity refuses a model call that would exceed it. */
  budget?: BudgetAllowance;
  /** Progress of an earlier invocation stopped by the budget (its calls are already billed). */
  resumeFrom?: unknown;
}

/** What every stage activity returns. */
export interface StageResult<T = unknown> {
  output: T;
  /** One line for the board and the activity stream. */
  summary: string;
  calls: ModelCallRecord[];
}

/** Compact state kept in the workflow memo so that the API can show a run without a worker. */
export interface RunMemo {
  task: string;
  robotName: string;
  status: RunStatus;
  currentStage?: StageName;
  stageStatus: Record<StageName, StageStatus>;
  usage: Usage;
  offline: boolean;
  error?: RunError;
  interruptedStage?: StageName;
  /** The gate the run waits at, for the board. */
  gate?: { gate: GateName; since: string; deadline?: string };
}

export const emptyUsage = (): Usage => ({ calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

export function addCalls(usage: Usage, calls: ModelCallRecord[]): Usage {
  return calls.reduce(
    (u, c) => ({
      calls: u.calls + 1,
      inputTokens: u.inputTokens + c.inputTokens,
      outputTokens: u.outputTokens + c.outputTokens,
      costUsd: Math.round((u.costUsd + c.costUsd) * 1e6) / 1e6,
    }),
    usage,
  );
}
