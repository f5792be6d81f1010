/**
 * How a run ends: Done after Delivery took effect; otherwise the cancellation, rejection or failure that stopped
 * it becomes the final status (Cancelled or Failed), the stage it stopped in and the error the workflow fails with.
 * Either way the run's update handlers answer their callers before it closes.
 */
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { RunState, StageState } from '../../contracts/run';
import { failureCause } from '../activity-failures';
import { RunRejected } from './gates';
import { now } from '../clock';
import { RunRecorder } from './recorder';

/** Delivery took effect: the run is Done. */
export async function completed(run: RunRecorder): Promise<RunState> {
  run.state.finishedAt = now();
  run.setStatus('Done', 'Run completed');
  await run.close();
  return run.state;
}

/**
 * Record why the run stopped (`current`: the stage running, if any) and return what the workflow ends with:
 * the cancellation itself (status Cancelled in Temporal too), or a non-retryable failure (`Rejected` at a gate,
 * `StageFailed` otherwise).
 */
export async function stopped(run: RunRecorder, current: StageState | undefined, err: unknown): Promise<unknown> {
  const { state } = run;
  state.finishedAt = now();
  const gate = state.gate;
  state.gate = undefined;
  if (current && current.status === 'running') {
    current.finishedAt = now();
    current.durationMs = Date.parse(current.finishedAt) - Date.parse(current.startedAt ?? current.finishedAt);
  }
  for (const s of state.stages) if (s.status === 'pending') s.status = 'skipped';
  if (isCancellation(err)) {
    if (current?.status === 'running') current.status = 'cancelled';
    state.interruptedStage = current?.status === 'cancelled' ? current.name : undefined;
    const where = gate ? `at the ${gate.gate} gate` : run.inHost() ? 'during the host conversation' : `during ${current?.name ?? 'start'}`;
    run.setStatus('Cancelled', `Run cancelled ${where}`);
    await run.close();
    return err;
  }
  if (err instanceof RunRejected) {
    if (current?.status === 'running') current.status = 'failed';
    state.error = { stage: err.gate === 'final' || err.gate === 'budget' ? current?.name : err.gate, type: 'Rejected', message: err.message };
    run.event('gate.rejected', `Rejected at the ${err.gate} gate: ${err.message}`, state.currentStage);
    run.setStatus('Failed', `Run rejected at the ${err.gate} gate: ${err.message}`);
    await run.close();
    return ApplicationFailure.create({ message: `Rejected at the ${err.gate} gate: ${err.message}`, type: 'Rejected', nonRetryable: true });
  }
  const cause = failureCause(err);
  const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : cause.name;
  if (current) {
    current.status = 'failed';
    current.error = cause.message;
  }
  state.error = { stage: current?.name, type, message: cause.message };
  run.setStatus('Failed', `Run failed in ${current?.name ?? 'start'}: ${cause.message}`);
  await run.close();
  return ApplicationFailure.create({
    message: `Stage ${current?.name ?? 'unknown'} failed: ${cause.message}`,
    type: 'StageFailed',
    nonRetryable: true,
    cause: err as Error,
  });
}
