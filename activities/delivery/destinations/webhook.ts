/**
 * `webhook`: a JSON POST of the deliverable (run id, robot, task, Markdown content, usage, links) to a URL of the
 * robot's choosing, through the shared outbound guard (non-public addresses only through MC_FETCH_ALLOWLIST, no
 * redirects followed). Headers: `Idempotency-Key` and `X-MC-Delivery` (`<runId>:deliver:<n>`, the same on every
 * attempt), and with a `signingSecret` the same signature our inbound webhooks take: `X-MC-Timestamp` (Unix
 * seconds) and `X-MC-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
 * 2xx → delivered; 408/429/5xx and network errors → retried by Temporal (Retry-After honoured); other statuses → failed.
 */
import { createHmac } from 'node:crypto';
import type { WebhookDestination } from '../../../contracts/delivery';
import type { z } from 'zod';
import { guardedRequest, retryAfterMs } from '../../net/guarded-http';
import { defineDestination, deliveryFailure, retryableStatus } from '../types';

/** `sha256=<hex>` over `<timestamp>.<body>`: the scheme of api/robots/webhook-signature.ts, so one verifier serves both. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
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
      headers['x-mc-signature'] = signBody(await ctx.credential(d.signingSecret), ts, body);
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
