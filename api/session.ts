/**
 * Page sessions. The page's password gate (MC_ADMIN_PASSWORD, or an API key) exchanges the secret for a signed,
 * expiring cookie that names a session id, so the page — including its EventSource streams — authenticates without
 * keeping a secret in JavaScript, and every API replica with the same configuration accepts it.
 *
 * Ending a session early: signing out records the session id as revoked in Temporal (./session-revocations.ts),
 * which every replica checks before it accepts the cookie; changing the configured keys or password changes the
 * signing key (derived from them), which ends every session on each replica that runs with the new configuration.
 *
 * Cookie: `v2.<session id>.<expiry ms>.<HMAC>`; HttpOnly, SameSite=Strict (no cross-site request carries it),
 * Secure when served over HTTPS. Cookies of the earlier format (`v1.`, without a session id, so not revocable) are
 * no longer accepted: their holders sign in again.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'mc_session';

/** The secrets sessions are signed with (the API keys and the admin password; see auth.ts `Credentials`). */
export interface SessionSecrets {
  apiKeys: string[];
  adminPassword?: string;
}
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** The signing key: derived from the configured secrets, so rotating them ends every session. */
function signingKey(creds: SessionSecrets): Buffer {
  return createHash('sha256')
    .update(['mc-session-v2', ...creds.apiKeys, creds.adminPassword ?? ''].join('\n'))
    .digest();
}

const mac = (creds: SessionSecrets, sid: string, expires: string) => createHmac('sha256', signingKey(creds)).update(`v2.${sid}.${expires}`).digest();

export function issueSession(creds: SessionSecrets, now = Date.now()): string {
  const sid = randomBytes(16).toString('base64url');
  const expires = String(now + SESSION_TTL_MS);
  return `v2.${sid}.${expires}.${mac(creds, sid, expires).toString('base64url')}`;
}

/** A cookie this configuration signed and that has not expired: its session id and expiry; else undefined. */
export function verifySession(creds: SessionSecrets, token: string | undefined, now = Date.now()): { sid: string; expires: number } | undefined {
  const m = /^v2\.([A-Za-z0-9_-]{22})\.(\d{1,16})\.([A-Za-z0-9_-]+)$/.exec(token ?? '');
  if (!m || Number(m[2]) < now) return undefined;
  const expected = mac(creds, m[1], m[2]);
  const given = Buffer.from(m[3], 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected) ? { sid: m[1], expires: Number(m[2]) } : undefined;
}

export function sessionFromRequest(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return undefined;
}

export function setSessionCookie(req: Request, res: Response, token: string | null): void {
  const secure = req.secure || req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
  const value = token ?? '';
  const age = token ? Math.floor(SESSION_TTL_MS / 1000) : 0;
  res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${age}${secure}`);
}
