/**
 * POST /hooks/:robotId — signed webhook trigger. Authenticated by its HMAC signature, not by an API key, and
 * verified over the exact bytes received, so it is added before the credentials middleware and the JSON parser,
 * with a raw body parser of its own.
 */
import express from 'express';
import { z } from 'zod';
import { requireJsonBody } from '../http/protection';
import { route, withStatus, type RouteDef } from '../http/route';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../robots/webhook-signature';
import { HookHeaders, HookParams, WebhookReply } from '../schemas';
import type { ReceiveWebhook } from '../use-cases/receive-webhook';

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function hookRoutes(receiveWebhook: ReceiveWebhook, maxBody: string): RouteDef[] {
  return [
    route(
      {
        method: 'post',
        path: '/hooks/:robotId',
        tag: 'webhooks',
        summary: 'A signed webhook: starts a run of the robot',
        description:
          'The payload (any JSON) becomes the run\'s context (`context.webhook.payload`) and must match the robot\'s `webhook.filters`. Sign `v2.<X-MC-Timestamp>.<X-MC-Delivery>.<raw body>` with the robot\'s webhook secret (HMAC-SHA256, hex) and send it as `X-MC-Signature: v2=<hex>` (the legacy `sha256=` over `<timestamp>.<raw body>` is accepted until MC_WEBHOOK_V1_UNTIL). An unknown robot, a robot without webhooks and a wrong signature all answer 401 `signature does not match`.',
        access: 'signature',
        params: HookParams,
        headers: HookHeaders,
        rawBody: { contentType: 'application/json', schema: z.unknown(), description: 'Any JSON (the exact bytes are signed), up to MC_WEBHOOK_MAX_BODY' },
        middleware: [requireJsonBody(), express.raw({ type: () => true, limit: maxBody })],
        responses: {
          202: ['A run was started', WebhookReply],
          200: ['Nothing new started: the delivery was seen before (`duplicate`, with the first run\'s id), or a filter did not match (`reason`)', WebhookReply],
          415: 'The body is not sent as application/json',
        },
      },
      async ({ params, headers, req }) => {
        const outcome = await receiveWebhook({
          robotId: params.robotId,
          body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          signature: header(req.headers[SIGNATURE_HEADER]),
          timestamp: headers[TIMESTAMP_HEADER],
          deliveryId: headers[DELIVERY_HEADER],
        });
        if (outcome.outcome === 'started') return withStatus(202, { id: outcome.runId, started: true });
        if (outcome.outcome === 'duplicate') return withStatus(200, { id: outcome.runId, duplicate: true, started: false });
        return withStatus(200, { started: false, reason: outcome.reason });
      },
    ),
  ];
}
