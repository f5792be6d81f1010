/**
 * Webhook signing: `X-MC-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>` with
 * `X-MC-Timestamp: <unix seconds>`; requests older or newer than the tolerance (5 minutes) are rejected, and
 * signatures are compared in constant time.
 *
 * Per-robot secrets are *derived*, not stored: secret = HMAC-SHA256(MC_WEBHOOK_KEY, "<robotId>:<keyId>"), where
 * keyId is a random generation id kept in the robot definition. Temporal therefore holds nothing that lets anyone
 * sign a webhook request; rotating a secret is a new keyId. All API replicas must share MC_WEBHOOK_KEY.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../lib/config';

export const SIGNATURE_HEADER = 'x-mc-signature';
export const TIMESTAMP_HEADER = 'x-mc-timestamp';
/** Optional delivery id: the same id starts at most one run (see use-cases/receive-webhook.ts). */
export const DELIVERY_HEADER = 'x-mc-delivery';
export const TOLERANCE_SECONDS = 5 * 60;

/** The master key from MC_WEBHOOK_KEY, else one generated once into the data folder (mode 0600). */
export function resolveWebhookKey(c: Config): string {
  if (c.MC_WEBHOOK_KEY) return c.MC_WEBHOOK_KEY;
  const file = path.join(c.MC_DATA_DIR, 'webhook-key');
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key) return key;
  }
  const key = randomBytes(32).toString('base64url');
  fs.mkdirSync(c.MC_DATA_DIR, { recursive: true });
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

export const newWebhookKeyId = (): string => randomBytes(12).toString('base64url');

/** The secret a sender signs with; shown to the user once, recomputed for every webhook request. */
export function webhookSecret(masterKey: string, robotId: string, keyId: string): string {
  return `whsec_${createHmac('sha256', masterKey).update(`${robotId}:${keyId}`).digest('base64url')}`;
}

/** `sha256=<hex>` over `timestamp + "." + body`. */
export function sign(secret: string, timestamp: string | number, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** Checks presence, freshness and the HMAC of a webhook request. */
export function verify(opts: {
  secret: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string | undefined;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): VerifyResult {
  if (!opts.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (!opts.timestamp || !/^\d{1,12}$/.test(opts.timestamp)) return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER} header` };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(opts.timestamp)) > (opts.toleranceSeconds ?? TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'timestamp outside the 5 minute tolerance' };
  }
  const expected = Buffer.from(sign(opts.secret, opts.timestamp, opts.body));
  const presented = Buffer.from(opts.signature.trim());
  // Equal lengths first (timingSafeEqual requires it); the length of a well-formed signature is public anyway.
  const ok = presented.length === expected.length && timingSafeEqual(presented, expected);
  return ok ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

/** Value at a simple JSON path (`$.a.b`, `$.items[0].id`), or undefined. */
export function valueAtPath(payload: unknown, jsonPath: string): unknown {
  const steps = jsonPath.slice(1).match(/\.[A-Za-z0-9_-]+|\[\d+\]/g) ?? [];
  let v: unknown = payload;
  for (const step of steps) {
    if (v === null || typeof v !== 'object') return undefined;
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}
