/**
 * What the task graph needs from the run, as one typed port: the run's input, its record and its budget. The run
 * hands over the very objects it runs on (run/recorder.ts and run/budget.ts implement these interfaces); the
 * graph calls them and nothing calls back into closures.
 */
import type { BudgetAllowance, BudgetNeed } from '../../contracts/gates';
import type { ModelCallRecord, RunStatus, StageName } from '../../contracts/pipeline';
import type { RunInput, RunState, StageState } from '../../contracts/run';

/** The run's record: its state (where the graph keeps `state.dag`), its events and its status. */
export interface RunRecord {
  readonly state: RunState;
  stage(name: StageName): StageState;
  event(type: string, message: string, stage?: StageName): void;
  /** Mirror the state into visibility (search attributes and memo). */
  publish(): void;
  setStatus(status: RunStatus, message: string): void;
}

/** The run's one budget, shared with the stages and the Robot Host. */
export interface RunBudgetPort {
  /** What is left of the run's caps after everything billed so far; undefined when the run has no budget. */
  allowance(): BudgetAllowance | undefined;
  /** What the next model-calling step is expected to cost: the average of the run's steps so far (0 before the first). */
  estimate(): BudgetNeed;
  /**
   * The run's budget gate: returns at once when what is left covers the expected next step; otherwise (and always
   * with `refused`, what a refused request needed) waits at the `budget` gate, status Review, until a person raises
   * the caps. A rejection throws (the run ends Failed).
   */
  ensure(stage: StageState | undefined, refused?: BudgetNeed, subject?: string): Promise<void>;
  /**
   * Count calls in the stage and in the run: the one place calls are billed (so the run's usage is always the sum
   * of its stages'). `step`: they are the calls of a model-calling activity that finished.
   */
  bill(stage: StageState | undefined, calls: ModelCallRecord[], step?: boolean): void;
}

export interface RunPort {
  readonly input: RunInput;
  readonly recorder: RunRecord;
  readonly budget: RunBudgetPort;
}
