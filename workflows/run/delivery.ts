/**
 * Delivery taking effect, after the `final` gate: the formatted result goes to each of the robot's destinations,
 * each as its own activity (`deliverWebhook`, `deliverEmail`, …, all at once), so each retries on its own and
 * shows in the history by name. Every destination has an idempotency key `<runId>:deliver:<n>` that stays the same
 * across its retries. The state records, per destination, status, attempts, response, time and error
 * (`state.delivery`, contracts/delivery.ts); a destination that fails for good does not undo the others, and the
 * robot's `onFailure` says what it means for the run: `warn` (Done, with `state.delivery.warning`) or `fail`.
 *
 * Runs that started before destinations existed only marked the `run` destination delivered (the `deliverResult`
 * activity); `patched(DELIVERY_PATCH)` keeps their histories replaying that way.
 */
import { RetryState } from '@temporalio/common';
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { DeliveryActivity } from '../../activities/delivery';
import type { ArtifactInfo } from '../../contracts/artifacts';
import { isClaimCheck } from '../../contracts/artifacts';
import {
  DESTINATION_TYPES,
  type Deliverable,
  type DeliveryState,
  deliveryKey,
  describeTarget,
  destinationActivity,
  type DestinationOutcome,
} from '../../contracts/delivery';
import type { RunInput, RunState } from '../../contracts/run';
import { failureCause } from '../activity-failures';
import { now } from '../clock';
import type { RunRecorder } from './recorder';

/** The patch that turned Delivery into real destinations. */
export const DELIVERY_PATCH = 'mc-delivery-destinations';

/** Default Temporal attempts of each destination (RunOptions.deliveryMaxAttempts). */
export const DELIVERY_MAX_ATTEMPTS = 5;

/** A destination's activity: retried with backoff from `retryInitialIntervalMs`, a receiver's Retry-After wins. */
function destinationActivities(input: RunInput, maximumAttempts: number) {
  return proxyActivities<Record<string, DeliveryActivity>>({
    startToCloseTimeout: '2m',
    // The activity heartbeats every second: a worker that dies mid-delivery is noticed within this window.
    heartbeatTimeout: '10s',
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    retry: { initialInterval: input.options?.retryInitialIntervalMs ?? 1000, backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts },
  });
}

/** Add (or replace, by name) artifacts in the run state's list. */
export function recordArtifacts(state: RunState, infos: ArtifactInfo[]): void {
  const list = (state.artifacts ??= []);
  for (const info of infos) {
    const i = list.findIndex((a) => a.name === info.name);
    if (i >= 0) list[i] = info;
    else list.push(info);
  }
}

/** What the formatted delivery says the result is: its Markdown, or the claim check standing for it. */
const contentOf = (formatted: unknown): Deliverable['content'] =>
  isClaimCheck(formatted) ? formatted : String((formatted as { content?: unknown } | undefined)?.content ?? '');

/**
 * Deliver `formatted` (the Delivery stage's output) to every destination of the run; returns the outcomes. Throws a
 * non-retryable `DeliveryFailed` when a destination failed for good and the robot said `fail`.
 */
export async function deliverToDestinations(input: RunInput, run: RunRecorder, task: string, formatted: unknown): Promise<DestinationOutcome[]> {
  const state = run.state;
  const plan = input.delivery;
  const destinations = plan?.destinations ?? [];
  if (destinations.length === 0) return [];
  const maxAttempts = input.options?.deliveryMaxAttempts ?? DELIVERY_MAX_ATTEMPTS;
  const acts = destinationActivities(input, maxAttempts);
  const delivery: DeliveryState = {
    onFailure: plan?.onFailure ?? 'warn',
    destinations: destinations.map((d, i) => ({
      n: i + 1,
      type: d.type,
      target: describeTarget(d),
      status: 'pending',
      attempts: 0,
      idempotencyKey: deliveryKey(state.runId, i + 1),
    })),
  };
  state.delivery = delivery;
  run.event('delivery.started', `Delivering to ${destinations.length} destination(s): ${destinations.map((d) => d.type).join(', ')}`, 'delivery');
  run.publish();
  const deliverable: Deliverable = {
    runId: state.runId,
    robot: { id: input.robot.id, name: input.robot.name, version: input.robot.version },
    task,
    format: 'markdown',
    content: contentOf(formatted),
    usage: state.usage,
    offline: state.offline,
  };

  await Promise.all(
    destinations.map(async (destination, i) => {
      const o = delivery.destinations[i];
      if (!(DESTINATION_TYPES as readonly string[]).includes(destination.type)) {
        Object.assign(o, { status: 'skipped', at: now(), error: `no destination of type ${destination.type}` });
      } else {
        try {
          const r = await acts[destinationActivity(destination.type)]({ n: o.n, idempotencyKey: o.idempotencyKey, destination, deliverable });
          Object.assign(o, { status: r.status, attempts: r.attempts, at: now() });
          if (r.response) o.response = r.response;
          if (r.error) o.error = r.error;
          if (r.artifacts?.length) {
            o.artifacts = r.artifacts.map((a) => a.name);
            recordArtifacts(state, r.artifacts);
          }
        } catch (err) {
          if (isCancellation(err)) throw err;
          // The activity answers final failures itself; what reaches here is a timeout or a worker lost on the last attempt.
          const exhausted = err instanceof ActivityFailure && err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED;
          Object.assign(o, { status: 'failed', attempts: exhausted ? maxAttempts : Math.max(o.attempts, 1), at: now(), error: failureCause(err).message });
        }
      }
      const detail = o.status === 'delivered' ? `${o.response?.statusCode ? `HTTP ${o.response.statusCode}` : 'ok'}` : o.error;
      run.event(`delivery.${o.status}`, `${o.type} → ${o.target}: ${o.status} after ${o.attempts} attempt(s)${detail ? ` (${detail})` : ''}`, 'delivery');
      run.publish();
    }),
  );

  const failed = delivery.destinations.filter((o) => o.status === 'failed');
  if (failed.length > 0) {
    const what = failed.map((o) => `${o.type} → ${o.target}: ${o.error ?? 'failed'}`).join('; ');
    if (delivery.onFailure === 'fail') {
      throw ApplicationFailure.create({ message: `${failed.length} of ${destinations.length} destination(s) failed: ${what}`, type: 'DeliveryFailed', nonRetryable: true });
    }
    delivery.warning = `${failed.length} of ${destinations.length} destination(s) failed: ${what}`;
    run.event('delivery.warning', delivery.warning, 'delivery');
  }
  return delivery.destinations;
}
