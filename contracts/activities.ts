/**
 * What the run workflow hands its model-calling activities and what they hand back. (Each activity module names
 * its own request types; these are the ones the stages and the host share with the workflow.)
 */
import type { BudgetAllowance, HostMessage } from './gates';
import type { ModelCallRecord, StageName } from './pipeline';
import type { RobotSnapshot } from './run';

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

/** One turn of the Robot Host. */
export interface HostTurnInput {
  runId: string;
  task: string;
  robot: RobotSnapshot;
  transcript: HostMessage[];
  /** The last allowed turn: the host must settle. */
  mustSettle: boolean;
  budget?: BudgetAllowance;
}
