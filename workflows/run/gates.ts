/**
 * Approval gates: the run waits (status Review) until a person decides, or until the gate's deadline applies its
 * timeout policy (`approve`, `reject`, or `escalate`: notify the "reports to" contact and wait once more). A gate
 * before a stage can send the run back to the stage before it (`revise`, bounded); the budget gate (run/budget.ts)
 * waits here too.
 */
import { condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { GateName, GatePoint, GateSettings, PendingGate } from '../../contracts/gates';
import { STAGES, StageName } from '../../contracts/pipeline';
import type { RunInput } from '../../contracts/run';
import { runActivityOptions } from '../activity-options';
import { Decisions, TakenDecision } from './decisions';
import { now } from '../clock';
import { RunRecorder } from './recorder';

const DEFAULT_MAX_REVISIONS = 3;

/** A reviewer (or a timeout policy) rejected the run at a gate. */
export class RunRejected extends Error {
  constructor(
    readonly gate: GateName,
    message: string,
  ) {
    super(message);
  }
}

/** Workflow time `ms` from now, as an ISO string (a gate's deadline). */
const iso = (ms: number) => new Date(Date.now() + ms).toISOString();

export class Gates {
  private readonly decisions: Decisions;
  private readonly visits: Partial<Record<GateName, number>> = {};
  private readonly revisionsAt: Partial<Record<GateName, number>> = {};
  private readonly maxRevisions: number;
  /** Gate points approved once: a run sent back past them does not stop there again. */
  private readonly approved = new Set<GatePoint>();
  private readonly quick: Activities;

  /** Registers the decision signal and update (run/decisions.ts). */
  constructor(
    private readonly input: RunInput,
    private readonly run: RunRecorder,
  ) {
    this.decisions = new Decisions(run);
    this.maxRevisions = input.approvals?.maxRevisions ?? DEFAULT_MAX_REVISIONS;
    this.quick = proxyActivities<Activities>(runActivityOptions(input.options).quick);
  }

  /**
   * At a configured gate point: undefined to go on, or the stage a `revise` sends the run back to with the
   * reviewer's feedback. A rejection throws RunRejected.
   */
  atPoint(point: GatePoint): Promise<{ stage: StageName; feedback: string } | undefined> | undefined {
    const settings = this.input.approvals?.gates?.find((g) => g.at === point);
    // No gate here: answered at once, without a promise (see the note on promises in run/pipeline.ts).
    if (!settings || this.approved.has(point)) return undefined;
    return this.decideAt(point, settings);
  }

  private async decideAt(point: GatePoint, settings: GateSettings): Promise<{ stage: StageName; feedback: string } | undefined> {
    const index = point === 'final' ? STAGES.length : STAGES.indexOf(point);
    const revisable = index > 0 ? STAGES[index - 1] : undefined;
    const d = await this.waitAtGate(point, { settings, revisable });
    if (d.decision === 'reject') throw new RunRejected(point, d.feedback || `rejected at the ${point} gate`);
    this.run.setStatus('Running', d.decision === 'approve' ? `Approved at the ${point} gate` : `Sent back to ${revisable} with feedback`);
    if (d.decision === 'approve') {
      this.approved.add(point);
      return undefined;
    }
    return { stage: revisable as StageName, feedback: d.feedback as string };
  }

  /** Wait at a gate until a decision (or the timeout policy) settles it. Status is Review meanwhile. */
  async waitAtGate(gate: GateName, opts: { settings?: GateSettings; revisable?: StageName; budget?: PendingGate['budget'] }): Promise<TakenDecision> {
    const { state } = this.run;
    const decisions = this.decisions;
    this.visits[gate] = (this.visits[gate] ?? 0) + 1;
    const timeoutMs = opts.settings?.timeoutSeconds !== undefined ? opts.settings.timeoutSeconds * 1000 : undefined;
    const subject: PendingGate['subject'] = {};
    for (const s of state.stages) if (s.output !== undefined) subject[s.name] = s.output;
    const g: PendingGate = {
      key: `${gate}#${this.visits[gate]}`,
      gate,
      revisable: opts.revisable,
      subject,
      since: now(),
      deadline: timeoutMs !== undefined ? iso(timeoutMs) : undefined,
      onTimeout: timeoutMs !== undefined ? (opts.settings?.onTimeout ?? 'reject') : undefined,
      escalated: false,
      revisions: this.revisionsAt[gate] ?? 0,
      maxRevisions: gate === 'budget' ? 0 : this.maxRevisions,
      budget: opts.budget,
    };
    decisions.pending = undefined;
    state.gate = g;
    this.run.event('gate.waiting', `Waiting at the ${gate} gate${g.deadline ? ` until ${g.deadline}` : ''}`, state.currentStage);
    this.run.setStatus('Review', `Review: ${gate} gate`);

    const decided = () => decisions.pending !== undefined && decisions.pending.key === g.key;
    // Read through a function: TypeScript cannot see the handlers assign `pending` while we await.
    const taken = () => decisions.pending;
    if (timeoutMs === undefined) {
      await condition(decided);
    } else if (!(await condition(decided, timeoutMs))) {
      const settings = opts.settings as GateSettings;
      const policy = settings.onTimeout ?? 'reject';
      if (policy === 'escalate') {
        const secondMs = (settings.escalationTimeoutSeconds ?? settings.timeoutSeconds ?? 0) * 1000;
        g.deadline = iso(secondMs);
        await this.escalate(g, settings);
        this.run.publish();
        if (!(await condition(decided, secondMs)) && !decided()) {
          decisions.takeOnTimeout('reject', `no decision within ${settings.timeoutSeconds}s nor ${secondMs / 1000}s after escalation`);
        }
      } else {
        decisions.takeOnTimeout(policy, `no decision within ${settings.timeoutSeconds}s`);
      }
    }
    const d = taken() as TakenDecision;
    decisions.pending = undefined;
    state.gate = undefined;
    if (d.decision === 'revise') this.revisionsAt[gate] = (this.revisionsAt[gate] ?? 0) + 1;
    return d;
  }

  /** The first deadline passed: notify the "reports to" contact (an event says so either way). */
  private async escalate(g: PendingGate, settings: GateSettings): Promise<void> {
    const { state } = this.run;
    const contact = this.input.approvals?.escalateTo;
    g.escalated = true;
    if (!contact) {
      this.run.event('gate.escalated', `The ${g.gate} gate reached its deadline; no "reports to" contact is configured`, state.currentStage);
      return;
    }
    try {
      await this.quick.notify({
        url: contact.webhookUrl,
        idempotencyKey: `${state.runId}:${g.key}:escalation`,
        payload: {
          type: 'approval.escalated',
          runId: state.runId,
          robot: state.robot,
          task: state.task.slice(0, 2000),
          gate: g.gate,
          waitingSince: g.since,
          timeoutSeconds: settings.timeoutSeconds,
          nextDeadline: g.deadline,
          to: contact.name,
          decide: { api: `POST /api/runs/${state.runId}/approvals`, signal: 'decision' },
        },
      });
      this.run.event('gate.escalated', `No decision at the ${g.gate} gate in time: ${contact.name ?? contact.webhookUrl} notified`, state.currentStage);
    } catch (err) {
      if (isCancellation(err)) throw err;
      this.run.event('gate.escalation_failed', `Could not notify ${contact.name ?? 'the contact'}: ${(err as Error).message}`, state.currentStage);
    }
  }
}
