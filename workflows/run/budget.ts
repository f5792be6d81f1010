/**
 * The run's budget: its caps, what is left of them, what the next model-calling step is expected to cost, the
 * billing of every model call, and the budget gate. One object shared by the stages, the Robot Host and the task
 * graph (which hands out shares of what is left to its parallel nodes, see dag/grants.ts), so that the run's
 * usage is always the sum of its stages'.
 */
import type { BudgetAllowance, BudgetNeed, BudgetSettings } from '../../contracts/gates';
import { addCalls, ModelCallRecord } from '../../contracts/pipeline';
import type { RunInput, StageState } from '../../contracts/run';
import { budgetRefusal } from '../activity-failures';
import type { RunBudgetPort } from '../dag/port';
import { Gates, RunRejected } from './gates';
import { RunRecorder } from './recorder';

export class RunBudget implements RunBudgetPort {
  /** The caps as raised so far; the run state shows this very object. */
  private readonly caps: BudgetSettings;
  /** Model-calling steps (activities) finished so far: the estimate is the average spend per step. */
  private modelSteps = 0;

  constructor(
    input: RunInput,
    private readonly run: RunRecorder,
    private readonly gates: Gates,
  ) {
    this.caps = { ...input.budget };
    run.state.budget = this.hasCaps() ? this.caps : undefined;
  }

  private hasCaps(): boolean {
    return this.caps.maxTokens !== undefined || this.caps.maxCostUsd !== undefined;
  }

  private spentTokens(): number {
    return this.run.state.usage.inputTokens + this.run.state.usage.outputTokens;
  }

  /** What is left of the caps after everything billed so far; undefined when the run has no budget. */
  allowance(): BudgetAllowance | undefined {
    const { caps } = this;
    return this.hasCaps()
      ? {
          remainingTokens: caps.maxTokens === undefined ? undefined : caps.maxTokens - this.spentTokens(),
          remainingCostUsd: caps.maxCostUsd === undefined ? undefined : Math.round((caps.maxCostUsd - this.run.state.usage.costUsd) * 1e6) / 1e6,
        }
      : undefined;
  }

  /** What the next model-calling step is expected to spend: the average of the steps so far (0 before the first). */
  estimate(): BudgetNeed {
    const { modelSteps } = this;
    return {
      tokens: modelSteps ? this.spentTokens() / modelSteps : 0,
      costUsd: modelSteps ? this.run.state.usage.costUsd / modelSteps : 0,
    };
  }

  /**
   * Count calls in their stage (none for the Robot Host) and in the run. `step`: they are the calls of a
   * model-calling activity that finished (the estimate averages over those).
   */
  bill(stage: StageState | undefined, calls: ModelCallRecord[], step = false): void {
    const state = this.run.state;
    if (stage) {
      stage.calls.push(...calls);
      stage.usage = addCalls(stage.usage, calls);
    }
    state.usage = addCalls(state.usage, calls);
    state.offline ||= calls.some((c) => c.offline);
    if (step) this.modelSteps++;
  }

  /**
   * Before a model-calling step: stop at the budget gate when the cap is spent or when the next step is expected
   * to exceed it. The estimate is the average spend of the model-calling steps so far (0 before the first); the
   * activity itself refuses the single request that would overspend (`refused`: what it needed), which forces the
   * gate. A rejection throws RunRejected (the run ends Failed).
   */
  async ensure(stage: StageState | undefined, refused?: BudgetNeed, subject?: string): Promise<void> {
    const { caps, run } = this;
    const state = run.state;
    let force = refused !== undefined;
    for (;;) {
      const left = this.allowance();
      if (!left) return;
      const next = refused ?? this.estimate();
      const over =
        force ||
        (left.remainingTokens !== undefined && (left.remainingTokens <= 0 || next.tokens > left.remainingTokens)) ||
        (left.remainingCostUsd !== undefined && (left.remainingCostUsd <= 0 || next.costUsd > left.remainingCostUsd));
      if (!over) return;
      const what = stage ? `${stage.name}${subject ? ` (${subject})` : ''}` : 'the host';
      const reason = refused
        ? `the next model request of ${what} needs about ${refused.tokens} tokens / $${refused.costUsd}`
        : `${what} is expected to need about ${Math.ceil(next.tokens)} tokens / $${next.costUsd.toFixed(6)}`;
      run.event('budget.exceeded', `Budget: ${reason}; spent ${this.spentTokens()} tokens / $${state.usage.costUsd} of ${caps.maxTokens ?? '∞'} / $${caps.maxCostUsd ?? '∞'}`, stage?.name);
      const needed = { tokens: Math.ceil(next.tokens), costUsd: Math.round(next.costUsd * 1e6) / 1e6 };
      const d = await this.gates.waitAtGate('budget', { budget: { spent: { ...state.usage }, caps: { ...caps }, stage: stage?.name, reason, needed } });
      if (d.decision === 'reject') throw new RunRejected('budget', d.feedback || `budget not raised: ${reason}`);
      if (caps.maxTokens !== undefined) caps.maxTokens += d.raiseBy?.tokens ?? 0;
      if (caps.maxCostUsd !== undefined) caps.maxCostUsd = Math.round((caps.maxCostUsd + (d.raiseBy?.costUsd ?? 0)) * 1e6) / 1e6;
      run.event('budget.raised', `Budget raised to ${caps.maxTokens ?? '∞'} tokens / $${caps.maxCostUsd ?? '∞'}`, stage?.name);
      run.setStatus(run.inHost() ? 'Pending' : 'Running', 'Budget raised');
      force = false;
      refused = undefined;
    }
  }

  /**
   * One model-calling activity under the budget: gate before it, and again whenever it refuses a request (the
   * calls made before the refusal are billed; the activity then resumes from its checkpoint). The caller bills the
   * result's calls.
   */
  withBudget<T extends { calls: ModelCallRecord[] }>(
    stage: StageState | undefined,
    call: (budget: BudgetAllowance | undefined, resumeFrom: unknown) => Promise<T>,
  ): Promise<T> {
    // Without caps nothing is checked, refused or estimated: the call itself, with no promise of ours around it
    // (see run/pipeline.ts on promises). Caps are set when the run starts and never appear later.
    return this.hasCaps() ? this.withCaps(stage, call) : call(undefined, undefined);
  }

  private async withCaps<T extends { calls: ModelCallRecord[] }>(
    stage: StageState | undefined,
    call: (budget: BudgetAllowance | undefined, resumeFrom: unknown) => Promise<T>,
  ): Promise<T> {
    let refused: BudgetNeed | undefined;
    let resumeFrom: unknown;
    for (;;) {
      await this.ensure(stage, refused);
      try {
        const result = await call(this.allowance(), resumeFrom);
        this.modelSteps++;
        return result;
      } catch (err) {
        const refusal = budgetRefusal(err);
        if (!refusal) throw err;
        this.bill(stage, refusal.calls ?? []);
        refused = refusal.needed ?? { tokens: 1, costUsd: 0 };
        resumeFrom = refusal.checkpoint;
      }
    }
  }
}
