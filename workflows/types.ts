/**
 * Shapes shared by the workflow, the activities and the API.
 *
 * This module is imported by workflow code, so it must stay pure: types and constants only,
 * no Node imports, no I/O.
 */

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
}

/** Per-run knobs. Everything has a default in the workflow. */
export interface RunOptions {
  /** Maximum attempts of each stage activity (Temporal retries), default 3. */
  stageMaxAttempts?: number;
  /** Start-to-close timeout of each stage activity in seconds, default 600. */
  stageTimeoutSeconds?: number;
  /** First retry delay in milliseconds, default 1000. */
  retryInitialIntervalMs?: number;
}

/** Where an approval gate stands: before a stage, or `final` (after Delivery is formatted, before it takes effect). */
export type GatePoint = StageName | 'final';

/** One approval gate (human review). Defaults live in the workflow. */
export interface GateSettings {
  at: GatePoint;
  /** Deadline of the decision in seconds (default: none, waits until decided or cancelled). */
  timeoutSeconds?: number;
  /** What happens at the deadline. */
  onTimeout?: 'reject' | 'approve' | 'escalate';
  /** With `escalate`: the second deadline after the escalation notice; then the gate rejects. */
  escalationTimeoutSeconds?: number;
}

export interface ApprovalSettings {
  gates: GateSettings[];
  /** How many times a reviewer may send a stage back with feedback (default 3). */
  maxRevisions?: number;
}

/** Spending caps of a run. The workflow stops at a budget gate before a call that would exceed them. */
export interface BudgetSettings {
  maxTokens?: number;
  maxCostUsd?: number;
}

/** Robot Host: a clarifying conversation before the pipeline starts (manual runs only). */
export interface HostSettings {
  enabled: boolean;
}

export interface RunInput {
  task: string;
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
  /** The run's extra context as given at start (e.g. the webhook payload). */
  context?: Record<string, unknown>;
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
