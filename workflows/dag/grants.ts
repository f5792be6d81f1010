/**
 * Budget grants of the task graph. Every model-calling activity of the graph (planner, node, node validator) runs
 * under a grant, a share of what is left of the run's budget, reserved while it is in flight so that parallel
 * nodes together cannot overspend; its budget guard refuses, unsent, a request that would spend more than its
 * grant. A refused node waits for budget to come back from the activities in flight, or, with nothing in flight,
 * for the run's budget gate (status Review; nothing new starts meanwhile): a raise runs the refused activity again
 * (not a node failure, and finished nodes never run twice), a rejection ends the run. Calls are billed once, into
 * the node, the Tasks stage and the run, as each activity returns (see `budgeted` and `serve`).
 */
import { condition } from '@temporalio/workflow';
import type { DagNodeState } from '../../contracts/dag';
import type { BudgetAllowance, BudgetNeed } from '../../contracts/gates';
import { addCalls, ModelCallRecord } from '../../contracts/pipeline';
import { budgetRefusal } from '../activity-failures';
import { available, decideGrant } from './grant-policy';
import type { Graph } from './graph';

/** An activity waiting for its share of the budget, and the share once granted. */
interface BudgetRequest {
  what: string;
  /** What the request this activity had refused needed (it must get at least that). */
  needed?: BudgetNeed;
  /** With nothing in flight, the budget gate has let it through once. */
  checked?: boolean;
  grant?: BudgetAllowance;
}

export class BudgetGrants {
  /** Activities waiting for budget, first come first served (see serve). */
  private readonly queue: BudgetRequest[] = [];
  /** What the model-calling activities in flight may still spend: reserved, so that together they cannot overspend. */
  private readonly grants = new Set<BudgetAllowance>();
  /** What the latest refused request of this graph needed: what a request of it takes, a better guess than the average. */
  private lastRefused: BudgetNeed = { tokens: 0, costUsd: 0 };

  constructor(private readonly graph: Graph) {}

  /** A new run of the graph (a revision) starts without the previous run's refusals. */
  clear(): void {
    this.lastRefused = { tokens: 0, costUsd: 0 };
  }

  /** An activity waits for budget: nothing new starts meanwhile (and so while the run waits at the budget gate). */
  get blocking(): boolean {
    return this.queue.some((r) => !r.grant);
  }

  /** Calls count in the node, the stage and the run as they happen (the run workflow does not add the Tasks stage again). */
  private bill(n: DagNodeState | undefined, calls: ModelCallRecord[], step: boolean): void {
    if (n) n.usage = addCalls(n.usage, calls);
    this.graph.calls.push(...calls);
    this.graph.run.budget.bill(this.graph.stage, calls, step && calls.length > 0);
  }

  /**
   * One activity of the graph under the run's budget. A model-calling one first waits for its grant (its share of
   * what is left, see serve) and hands it to the activity, whose budget guard (activities/models/budget.ts)
   * refuses, unsent, a request that would spend more. Its calls are billed when it returns and the unspent grant
   * goes back. A refusal (BudgetExceeded) bills the calls made before it and asks again for at least what the
   * refused request needed, which can mean the budget gate; then the same activity runs again: a refusal is not a
   * node failure, and nothing that finished runs twice.
   */
  budgeted<T extends { calls: ModelCallRecord[] }>(
    n: DagNodeState | undefined,
    what: string,
    callsModel: boolean,
    call: (budget: BudgetAllowance | undefined) => Promise<T>,
  ): Promise<T> {
    // Nothing to grant: the call, billed when it returns, with one promise of ours rather than an async function's
    // two (see run/pipeline.ts on promises).
    if (!callsModel || !this.graph.run.budget.allowance()) {
      return call(undefined).then((result) => {
        this.bill(n, result.calls, true);
        return result;
      });
    }
    return this.granted(n, what, call);
  }

  private async granted<T extends { calls: ModelCallRecord[] }>(
    n: DagNodeState | undefined,
    what: string,
    call: (budget: BudgetAllowance | undefined) => Promise<T>,
  ): Promise<T> {
    let needed: BudgetNeed | undefined;
    for (;;) {
      const grant = await this.acquire(what, needed);
      try {
        const result = await call(grant);
        this.bill(n, result.calls, true);
        return result;
      } catch (err) {
        const refusal = budgetRefusal(err);
        if (!refusal) throw err;
        this.bill(n, refusal.calls ?? [], false);
        needed = refusal.needed ?? { tokens: 1, costUsd: 0 };
        this.lastRefused = needed;
        this.graph.event(
          'node.budget',
          `${what}: a model request needing about ${needed.tokens} tokens / $${needed.costUsd} was refused by the budget; it runs again once there is budget for it`,
        );
      } finally {
        // Billing above and giving the grant back happen together: the budget left is never counted twice.
        this.grants.delete(grant);
        this.graph.changed = true;
      }
    }
  }

  /** Wait for a grant; served by the graph loop (or here, while planning, before the loop runs). */
  private async acquire(what: string, needed?: BudgetNeed): Promise<BudgetAllowance> {
    const req: BudgetRequest = { what, needed };
    this.queue.push(req);
    this.graph.changed = true;
    let granted = false;
    try {
      if (!this.graph.open) await this.serve();
      await condition(() => req.grant !== undefined);
      granted = true;
      return req.grant as BudgetAllowance;
    } finally {
      const i = this.queue.indexOf(req);
      if (i >= 0) this.queue.splice(i, 1);
      // Cancelled (the node or the run) after its grant was handed out: give it back.
      if (!granted && req.grant) {
        this.grants.delete(req.grant);
        this.graph.changed = true;
      }
    }
  }

  /** What is left of the run's budget minus the grants in flight (undefined: no budget). */
  private available(): BudgetAllowance | undefined {
    const left = this.graph.run.budget.allowance();
    return left && available(left, this.grants);
  }

  /**
   * Hand out budget so that the grants in flight never add up to more than is left: each activity may spend its
   * grant and no more. First come first served: a request gets an equal share of what is left among the requests
   * waiting (a refused one at least what its refused request needed); while the first cannot be served, the
   * others wait behind it and no node starts, until activities in flight give back what they did not spend. With
   * nothing in flight, the run's budget gate decides: it lets the request through when what is left covers the
   * expected step (a refused request: what it needed), or waits for a person to raise the caps (or reject).
   */
  async serve(): Promise<void> {
    const { budget } = this.graph.run;
    for (;;) {
      const waiting = this.queue.filter((r) => !r.grant);
      const req = waiting[0];
      const left = this.available();
      if (!req || !left) return;
      const answer = decideGrant({
        left,
        waiting: waiting.length,
        inFlight: this.grants.size > 0,
        needed: req.needed,
        checked: req.checked,
        lastRefused: this.lastRefused,
        expected: budget.estimate(),
      });
      if ('grant' in answer) {
        this.grants.add(answer.grant);
        req.grant = answer.grant;
        continue;
      }
      // Budget comes back when the activities in flight finish (they set `changed`).
      if (answer.wait === 'in-flight') return;
      await budget.ensure(this.graph.stage, req.needed, req.what);
      req.checked = true;
      this.graph.changed = true;
    }
  }
}
