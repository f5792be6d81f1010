/**
 * receiveWebhook: a signed webhook request for a robot. Verifies the signature over the exact bytes received,
 * applies the robot's payload filters, and starts at most one run per delivery id (`X-MC-Delivery`, or the
 * signature when the sender gives none) through startRun. Returns what happened; throws domain errors.
 *
 * The delivery id is part of the run id and startRun makes that start idempotent, so the same delivery sent again
 * (or concurrently) finds the first run, for as long as Temporal retains it.
 */
import { createHash } from 'node:crypto';
import type { StoredRobot } from '../../contracts/robot';
import { AlreadyStarted, InvalidInput, InvalidSignature, NotFound } from '../errors';
import { valueAtPath, verify, webhookSecret } from '../robots/webhook-signature';
import type { StartRun } from './start-run';

/** A delivery id: what `X-MC-Delivery` may hold. */
export const DELIVERY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface WebhookRequest {
  robotId: string;
  /** The body exactly as received. */
  body: Buffer;
  signature?: string;
  timestamp?: string;
  deliveryId?: string;
}

/** A run started; an earlier request with this delivery id already started one; or a filter did not match. */
export type WebhookOutcome = { outcome: 'started'; runId: string } | { outcome: 'duplicate'; runId: string } | { outcome: 'filtered'; reason: string };

export interface ReceiveWebhookDeps {
  robots: { load(id: string): Promise<StoredRobot> };
  startRun: StartRun;
  /** Master key the robots' webhook secrets are derived from (MC_WEBHOOK_KEY). */
  webhookKey: string;
}

export type ReceiveWebhook = (request: WebhookRequest) => Promise<WebhookOutcome>;

const noWebhook = () => new NotFound('no webhook for this robot');

export function createReceiveWebhook(deps: ReceiveWebhookDeps): ReceiveWebhook {
  return async function receiveWebhook(request) {
    const robot = await deps.robots.load(request.robotId).catch((err) => {
      throw err instanceof NotFound ? noWebhook() : err;
    });
    if (!robot.webhook?.enabled || !robot.webhookKeyId) throw noWebhook();
    const secret = webhookSecret(deps.webhookKey, robot.id, robot.webhookKeyId);
    const check = verify({ secret, body: request.body, signature: request.signature, timestamp: request.timestamp });
    if (!check.ok) throw new InvalidSignature(check.reason);
    if (request.deliveryId !== undefined && !DELIVERY_ID.test(request.deliveryId)) {
      throw new InvalidInput('x-mc-delivery: must be 1-128 characters of letters, digits, _ . : -');
    }
    let payload: unknown;
    try {
      payload = request.body.length ? JSON.parse(request.body.toString('utf8')) : {};
    } catch {
      throw new InvalidInput('body is not valid JSON');
    }
    const failed = (robot.webhook.filters ?? []).find((f) => valueAtPath(payload, f.path) !== f.equals);
    if (failed) return { outcome: 'filtered', reason: `filtered out: ${failed.path} is not ${JSON.stringify(failed.equals)}` };

    // Without a delivery id, the signature itself identifies the delivery: replaying the same signed request
    // (within the 5 minute tolerance) finds the first run instead of starting another.
    const deliveryId = request.deliveryId ?? `sig-${createHash('sha256').update(request.signature!).digest('hex').slice(0, 32)}`;
    try {
      const run = await deps.startRun({
        trigger: 'webhook',
        robot: { stored: robot },
        context: { webhook: { deliveryId: request.deliveryId, payload } },
        runId: `run-hook-${robot.id}-${deliveryId}`,
      });
      return { outcome: 'started', runId: run.id };
    } catch (err) {
      if (err instanceof AlreadyStarted) return { outcome: 'duplicate', runId: err.runId };
      throw err;
    }
  };
}
