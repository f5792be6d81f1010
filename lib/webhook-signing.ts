/**
 * The webhook signing strings, shared by what we receive (api/robots/webhook-signature.ts verifies them) and what we
 * send (the `webhook` delivery destination signs with them), so one verifier serves both directions.
 *
 *   v2 (current): `v2=<hex HMAC-SHA256(secret, "v2." + timestamp + "." + deliveryId + "." + rawBody)>`
 *   v1 (legacy):  `sha256=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>` — does not cover the delivery id.
 */
import { createHmac } from 'node:crypto';

/** Version 1 (legacy): `sha256=<hex>` over `timestamp + "." + body`. The delivery id is not covered. */
export function sign(secret: string, timestamp: string | number, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/** Version 2: `v2=<hex>` over `"v2." + timestamp + "." + deliveryId + "." + body` (deliveryId '' when there is none). */
export function signV2(secret: string, timestamp: string | number, deliveryId: string | undefined, body: Buffer | string): string {
  return `v2=${createHmac('sha256', secret).update(`v2.${timestamp}.${deliveryId ?? ''}.`).update(body).digest('hex')}`;
}
