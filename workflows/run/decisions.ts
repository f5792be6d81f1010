/**
 * Decisions at the run's gates: the `decision` signal and the `decide` update, with the checks that refuse a
 * stale or malformed decision before anything changes. A decision is recorded here; the gate the run waits at
 * (run/gates.ts) acts on it.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import { decideUpdate, decisionSignal, INVALID_DECISION, STALE_DECISION } from '../../contracts/messages';
import { ApprovalRecord, CallerChannel, DecisionChannel, DecisionInput, PendingGate } from '../../contracts/gates';
import { now } from '../clock';
import { RunRecorder } from './recorder';

export const invalidDecision = (message: string) => ApplicationFailure.create({ message, type: INVALID_DECISION, nonRetryable: true });
export const staleDecision = (message: string) => ApplicationFailure.create({ message, type: STALE_DECISION, nonRetryable: true });

/** A decision taken at the current gate, until the run acts on it. */
export type TakenDecision = Omit<DecisionInput, 'channel'> & { channel: DecisionChannel; key: string };

export class Decisions {
  /** The decision taken at the current gate, until the run acts on it. */
  pending: TakenDecision | undefined;

  /** Registers the `decision` signal and the `decide` update. */
  constructor(private readonly run: RunRecorder) {
    const state = run.state;
    setHandler(decisionSignal, (d: DecisionInput) => {
      try {
        // A signal claiming a channel other than a caller's (e.g. `timeout`) is taken as a plain signal.
        const channel: DecisionChannel = d?.channel && CallerChannel.safeParse(d.channel).success ? d.channel : 'signal';
        this.take({ ...d, channel: undefined }, channel);
      } catch (err) {
        // A signal has nobody to answer: say in the run why it changed nothing.
        run.event('approval.ignored', `decision signal ignored: ${(err as Error).message}`, state.currentStage);
      }
    });

    setHandler(
      decideUpdate,
      async (d: DecisionInput) => {
        const key = this.take(d, d.channel ?? 'api');
        if (key) await condition(() => state.gate?.key !== key || run.finished);
        return state;
      },
      { validator: (d: DecisionInput) => void this.check(d, d?.channel ?? 'api') },
    );
  }

  /** Throws InvalidDecision / StaleDecision; 'duplicate' for a decisionId already applied. */
  private check(d: DecisionInput, channel: DecisionChannel): 'apply' | 'duplicate' {
    const state = this.run.state;
    // The very schema the API validates its request body with: one definition of a well-formed decision.
    const shape = DecisionInput.safeParse({ ...d, channel: undefined });
    if (!shape.success) {
      throw invalidDecision(shape.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; '));
    }
    if (!CallerChannel.safeParse(channel).success) throw invalidDecision('channel must be api, signal, ui or chat');
    if (d.decisionId && state.approvals.some((a) => a.decisionId === d.decisionId)) return 'duplicate';
    const g = state.gate;
    if (!g || this.pending || this.run.finished) {
      const last = d.gate ? [...state.approvals].reverse().find((a) => a.gate === d.gate) : undefined;
      throw staleDecision(
        last
          ? `the ${d.gate} gate was already decided (${last.decision} by ${last.by} at ${last.at}); the run is ${state.status}`
          : `the run is not waiting at ${d.gate ? `the ${d.gate} gate` : 'a gate'} (status ${state.status})`,
      );
    }
    if (d.gate && d.gate !== g.gate) throw staleDecision(`the run waits at the ${g.gate} gate, not at ${d.gate}`);
    if (d.decision === 'revise') {
      if (g.gate === 'budget') throw invalidDecision('the budget gate takes approve (with raiseBy) or reject');
      if (!g.revisable) throw invalidDecision(`nothing to revise before ${g.gate}`);
      if (g.revisions >= g.maxRevisions) throw staleDecision(`the ${g.gate} gate has used its ${g.maxRevisions} revision(s): approve or reject`);
    }
    if (g.gate === 'budget' && d.decision === 'approve' && !((d.raiseBy?.tokens ?? 0) > 0 || (d.raiseBy?.costUsd ?? 0) > 0)) {
      throw invalidDecision('approve at the budget gate needs raiseBy: { tokens?, costUsd? }');
    }
    return 'apply';
  }

  /** Record a decision for the current gate; the gate acts on it. Returns the gate key, or undefined if a duplicate. */
  private take(d: DecisionInput, channel: DecisionChannel): string | undefined {
    if (this.check(d, channel) === 'duplicate') return undefined;
    const state = this.run.state;
    const g = state.gate as PendingGate;
    const record: ApprovalRecord = {
      gate: g.gate,
      key: g.key,
      decision: d.decision,
      by: d.by?.trim() || (channel === 'signal' ? 'temporal signal' : 'unknown'),
      channel,
      at: now(),
      feedback: d.feedback?.trim() || undefined,
      decisionId: d.decisionId,
      raiseBy: d.raiseBy,
    };
    state.approvals.push(record);
    this.run.event(
      `approval.${d.decision}`,
      `${record.by} chose ${d.decision} at the ${g.gate} gate via ${channel}${record.feedback ? `: ${record.feedback}` : ''}`,
      state.currentStage,
    );
    this.pending = { ...d, channel, key: g.key };
    return g.key;
  }

  /** Decide for nobody: a timeout policy. */
  takeOnTimeout(decision: 'approve' | 'reject', why: string): void {
    const state = this.run.state;
    const g = state.gate as PendingGate;
    state.approvals.push({ gate: g.gate, key: g.key, decision, by: 'system', channel: 'timeout', at: now(), feedback: why });
    this.run.event('gate.timeout', `The ${g.gate} gate timed out (${why}): ${decision}`, state.currentStage);
    this.pending = { decision, feedback: why, channel: 'timeout', key: g.key };
  }
}
