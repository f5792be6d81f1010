/**
 * receiveWebhook: a signed webhook request for a robot. Verifies the signature over the exact bytes received,
 * applies the robot's payload filters, and starts at most one run per delivery through startRun. Returns what
 * happened; throws domain errors.
 *
 * Which delivery a request is: a v2 signature covers `X-MC-Delivery`, so its delivery id names it; a v1 signature
 * (legacy, until MC_WEBHOOK_V1_UNTIL) does not, so a v1 request — and a v2 one without a delivery id — is named by
 * its signature. Either way the name is part of the run id and startRun makes that start idempotent: the same
 * delivery sent again (or concurrently), or a captured request replayed with any other delivery id, finds the
 * first run (or fails the signature), for as long as Temporal retains it.
 *
 * An unknown robot, a robot without webhooks and a wrong signature answer alike (InvalidSignature, same message),
 * so the endpoint does not tell which robots exist or take webhooks; what is checked before the robot is looked up
 * (headers present, timestamp fresh, delivery id well-formed, JSON depth) answers the same for every robot id.
 */
import { createHash } from 'node:crypto';
import type { StoredRobot } from '../../contracts/robot';
import { AlreadyStarted, InvalidInput, InvalidSignature, NotFound } from '../errors';
import { jsonDepthExceeds, tooDeep } from '../http/protection';
import { checkRequest, matchingSignature, valueAtPath, webhookSecret } from '../robots/webhook-signature';
import type { StartRun } from './start-run';

/** A delivery id: what `X-MC-Delivery` may hold. */
export const DELIVERY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The one answer for an unknown robot, a robot without webhooks, and a signature that does not match. */
export const NOT_ACCEPTED = 'signature does not match';

export interface WebhookRequest {
  robotId: string;
  /** The body exactly as received. */
  body: Buffer;
  signature?: string;
  timestamp?: string;
  deliveryId?: string;
}

/** A run started; an earlier request for this delivery already started one; or a filter did not match. */
export type WebhookOutcome = { outcome: 'started'; runId: string } | { outcome: 'duplicate'; runId: string } | { outcome: 'filtered'; reason: string };

export interface ReceiveWebhookDeps {
  robots: { load(id: string): Promise<StoredRobot> };
  startRun: StartRun;
  /** Master key the robots' webhook secrets are derived from (MC_WEBHOOK_KEY). */
  webhookKey: string;
  /** Deepest JSON nesting a payload may have (MC_MAX_JSON_DEPTH). */
  maxJsonDepth: number;
  /** Until when v1 signatures (which do not cover the delivery id) are still accepted (MC_WEBHOOK_V1_UNTIL). */
  v1Until?: Date;
  /** The clock (tests). */
  now?: () => number;
}

export type ReceiveWebhook = (request: WebhookRequest) => Promise<WebhookOutcome>;

export function createReceiveWebhook(deps: ReceiveWebhookDeps): ReceiveWebhook {
  const now = deps.now ?? Date.now;
  return async function receiveWebhook(request) {
    const nowMs = now();
    const check = checkRequest({ signature: request.signature, timestamp: request.timestamp, nowSeconds: Math.floor(nowMs / 1000), v1Until: deps.v1Until });
    if (!check.ok) throw new InvalidSignature(check.reason);
    if (request.deliveryId !== undefined && !DELIVERY_ID.test(request.deliveryId)) {
      throw new InvalidInput('x-mc-delivery: must be 1-128 characters of letters, digits, _ . : -');
    }
    if (jsonDepthExceeds(request.body, deps.maxJsonDepth)) throw new InvalidInput(tooDeep(deps.maxJsonDepth).message);

    const robot = await deps.robots.load(request.robotId).catch((err) => {
      if (err instanceof NotFound) return undefined;
      throw err;
    });
    const keyId = robot?.webhook?.enabled ? robot.webhookKeyId : undefined;
    // Without a secret of the robot's, a signature is still computed (with a throw-away one) so the answer takes
    // as long and says the same as a wrong signature.
    const secret = webhookSecret(deps.webhookKey, request.robotId, keyId ?? `absent:${nowMs}`);
    const matched = matchingSignature({
      secret,
      body: request.body,
      signature: request.signature,
      timestamp: request.timestamp!,
      deliveryId: request.deliveryId,
      v1Accepted: !deps.v1Until || nowMs < deps.v1Until.getTime(),
    });
    if (!robot || !keyId || !matched) throw new InvalidSignature(NOT_ACCEPTED);

    let payload: unknown;
    try {
      payload = request.body.length ? JSON.parse(request.body.toString('utf8')) : {};
    } catch {
      throw new InvalidInput('body is not valid JSON');
    }
    const failed = (robot.webhook!.filters ?? []).find((f) => valueAtPath(payload, f.path) !== f.equals);
    if (failed) return { outcome: 'filtered', reason: `filtered out: ${failed.path} is not ${JSON.stringify(failed.equals)}` };

    // The delivery's name: its signed delivery id (v2), else the signature itself.
    const signedId = matched.version === 'v2' ? request.deliveryId : undefined;
    const name = signedId ?? `sig-${createHash('sha256').update(matched.value).digest('hex').slice(0, 32)}`;
    try {
      const run = await deps.startRun({
        trigger: 'webhook',
        robot: { stored: robot },
        context: { webhook: { deliveryId: request.deliveryId, signature: matched.version, payload } },
        runId: `run-hook-${robot.id}-${name}`,
      });
      return { outcome: 'started', runId: run.id };
    } catch (err) {
      if (err instanceof AlreadyStarted) return { outcome: 'duplicate', runId: err.runId };
      throw err;
    }
  };
}
