/**
 * A platform's incoming-webhook URL (Slack, Discord) is a secret of the robot's choosing: it is resolved from a
 * credential and, being a user-chosen URL, posted to through the shared outbound guard like any webhook.
 */
import { guardedRequest, retryAfterMs, type GuardedResponse } from '../../net/guarded-http';
import { type DestinationContext, deliveryFailure, retryableStatus } from '../types';

/** POST JSON to a platform webhook URL; 2xx → the response, anything else → a delivery failure. */
export async function postToIncomingWebhook(who: string, url: string, payload: unknown, ctx: DestinationContext): Promise<GuardedResponse> {
  const res = await guardedRequest(url, {
    who,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    allowList: ctx.config.MC_FETCH_ALLOWLIST,
    maxBytes: 64 * 1024,
    timeoutMs: ctx.config.MC_DELIVERY_TIMEOUT_MS,
    signal: ctx.signal,
    lookup: ctx.lookup,
  });
  if (res.status >= 200 && res.status < 300) return res;
  // The URL holds the secret: the message names the platform, never the URL.
  throw deliveryFailure(`${who} answered HTTP ${res.status}`, { retryable: retryableStatus(res.status), retryAfterMs: retryAfterMs(res.headers['retry-after']), statusCode: res.status });
}
