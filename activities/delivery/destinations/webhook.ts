/**
 * `webhook`: a JSON POST of the deliverable (run id, robot, task, Markdown content, usage, links) to a URL of the
 * robot's choosing, through the shared outbound guard (non-public addresses only through MC_FETCH_ALLOWLIST, no
 * redirects followed). Headers: `Idempotency-Key` and `X-MC-Delivery` (`<runId>:deliver:<n>`, the same on every
 * attempt), and with a `signingSecret` the same signatures our inbound webhooks take (lib/webhook-signing.ts):
 * `X-MC-Timestamp` (Unix seconds) and `X-MC-Signature: v2=<hex>, sha256=<hex>` — v2 covers the delivery id, the
 * legacy v1 beside it serves receivers that do not check v2 yet.
 * 2xx → delivered; 408/429/5xx and network errors → retried by Temporal (Retry-After honoured); other statuses → failed.
 */
import type { WebhookDestination } from '../../../contracts/delivery';
import type { z } from 'zod';
import { sign, signV2 } from '../../../lib/webhook-signing';
import { guardedRequest, retryAfterMs } from '../../net/guarded-http';
import { defineDestination, deliveryFailure, retryableStatus } from '../types';

/** Both signatures, v2 first: `v2=<hex>, sha256=<hex>` (a receiver checks the newest version it knows). */
export function signBody(secret: string, timestamp: number, deliveryId: string, body: string): string {
  return `${signV2(secret, timestamp, deliveryId, body)}, ${sign(secret, timestamp, body)}`;
}

export const webhookDestination = defineDestination<z.infer<typeof WebhookDestination>>({
  type: 'webhook',
  async send(d, ctx) {
    const body = JSON.stringify(ctx.message.json(ctx.idempotencyKey));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': ctx.idempotencyKey,
      'x-mc-delivery': ctx.idempotencyKey,
    };
    if (d.signingSecret) {
      const ts = Math.floor(Date.now() / 1000);
      headers['x-mc-timestamp'] = String(ts);
      headers['x-mc-signature'] = signBody(await ctx.credential(d.signingSecret), ts, ctx.idempotencyKey, body);
    }
    const res = await guardedRequest(d.url, {
      who: 'webhook delivery',
      method: 'POST',
      headers,
      body,
      allowList: ctx.config.MC_FETCH_ALLOWLIST,
      maxBytes: 16 * 1024,
      timeoutMs: ctx.config.MC_DELIVERY_TIMEOUT_MS,
      signal: ctx.signal,
      lookup: ctx.lookup,
    });
    if (res.status >= 200 && res.status < 300) return { statusCode: res.status, messageId: res.headers['x-message-id'] as string | undefined };
    throw deliveryFailure(`webhook delivery ${res.url} answered HTTP ${res.status}`, {
      retryable: retryableStatus(res.status),
      retryAfterMs: retryAfterMs(res.headers['retry-after']),
      statusCode: res.status,
    });
  },
});
