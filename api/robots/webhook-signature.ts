/**
 * Webhook signing. Version 2 (current) signs the delivery id together with the timestamp and the exact body:
 *
 *   X-MC-Signature: v2=<hex HMAC-SHA256(secret, "v2." + timestamp + "." + deliveryId + "." + rawBody)>
 *
 * with `X-MC-Timestamp: <unix seconds>` and `X-MC-Delivery: <delivery id>` (empty in the signed string when the
 * header is absent). Version 1 (`sha256=<hex HMAC(secret, timestamp + "." + rawBody)>`) did not cover the delivery
 * id; it is still verified until MC_WEBHOOK_V1_UNTIL, and a v1 request is identified by its signature alone (its
 * delivery id is not trusted), so replaying it with a new delivery id finds the first run. Requests more than 5
 * minutes off are refused; signatures are compared in constant time.
 *
 * Per-robot secrets are *derived*, not stored: secret = HMAC-SHA256(MC_WEBHOOK_KEY, "<robotId>:<keyId>"), where
 * keyId is a random generation id kept in the robot definition. Temporal therefore holds nothing that lets anyone
 * sign a webhook request; rotating a secret is a new keyId. All API replicas must share MC_WEBHOOK_KEY.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../lib/config';
import { sign, signV2 } from '../../lib/webhook-signing';

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

export { sign, signV2 };

export type SignatureVersion = 'v2' | 'v1';

/** The signatures a header carries (a sender may send `v2=...` and `sha256=...` side by side, comma-separated). */
export function presentedSignatures(header: string | undefined): { version: SignatureVersion; value: string }[] {
  return (header ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((value): { version: SignatureVersion; value: string }[] =>
      value.startsWith('v2=') ? [{ version: 'v2', value }] : value.startsWith('sha256=') ? [{ version: 'v1', value }] : [],
    );
}

export type CheckResult = { ok: true } | { ok: false; reason: string };

/**
 * What can be checked before the robot is known (so the answer is the same whether or not the robot exists):
 * a signature of a version still accepted, and a fresh timestamp.
 */
export function checkRequest(opts: { signature: string | undefined; timestamp: string | undefined; nowSeconds?: number; v1Until?: Date; toleranceSeconds?: number }): CheckResult {
  const sigs = presentedSignatures(opts.signature);
  if (!opts.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  if (sigs.length === 0) return { ok: false, reason: `${SIGNATURE_HEADER} must be v2=<hex> (or the legacy sha256=<hex>)` };
  if (!opts.timestamp || !/^\d{1,12}$/.test(opts.timestamp)) return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER} header` };
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(opts.timestamp)) > (opts.toleranceSeconds ?? TOLERANCE_SECONDS)) {
    return { ok: false, reason: 'timestamp outside the 5 minute tolerance' };
  }
  if (sigs.every((s) => s.version === 'v1') && opts.v1Until && now * 1000 >= opts.v1Until.getTime()) {
    return { ok: false, reason: `v1 signatures (sha256=) are no longer accepted since ${opts.v1Until.toISOString()}: sign v2 (see the README, Webhooks)` };
  }
  return { ok: true };
}

/**
 * The signature of the header that matches (v2 first), or undefined. Constant-time comparison; a v1 signature
 * counts only while `v1Accepted`.
 */
export function matchingSignature(opts: {
  secret: string;
  body: Buffer;
  signature: string | undefined;
  timestamp: string;
  deliveryId: string | undefined;
  v1Accepted: boolean;
}): { version: SignatureVersion; value: string } | undefined {
  const expected = {
    v2: Buffer.from(signV2(opts.secret, opts.timestamp, opts.deliveryId, opts.body)),
    v1: Buffer.from(sign(opts.secret, opts.timestamp, opts.body)),
  };
  const sigs = presentedSignatures(opts.signature).sort((a, b) => (a.version === b.version ? 0 : a.version === 'v2' ? -1 : 1));
  for (const sig of sigs) {
    if (sig.version === 'v1' && !opts.v1Accepted) continue;
    const presented = Buffer.from(sig.value);
    const want = expected[sig.version];
    // Equal lengths first (timingSafeEqual requires it); the length of a well-formed signature is public anyway.
    if (presented.length === want.length && timingSafeEqual(presented, want)) return sig;
  }
  return undefined;
}

/**
 * Verify a signed request on its own (no robot involved): headers present, timestamp fresh, and a v2 signature (over
 * the delivery id too) or a v1 one matching `secret`. For receivers of what we send (delivery webhooks) and tests.
 */
export function verify(opts: { secret: string; body: Buffer; signature: string | undefined; timestamp: string | undefined; deliveryId?: string; nowSeconds?: number }): CheckResult {
  const check = checkRequest({ signature: opts.signature, timestamp: opts.timestamp, nowSeconds: opts.nowSeconds });
  if (!check.ok) return check;
  const matched = matchingSignature({ secret: opts.secret, body: opts.body, signature: opts.signature, timestamp: opts.timestamp!, deliveryId: opts.deliveryId, v1Accepted: true });
  return matched ? { ok: true } : { ok: false, reason: 'signature does not match' };
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
