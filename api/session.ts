/**
 * Page sessions. The page's password gate (MC_ADMIN_PASSWORD, or an API key) exchanges the secret for a
 * stateless, signed, expiring cookie, so the page — including its EventSource streams — authenticates without
 * keeping a secret in JavaScript, and every API replica with the same configuration accepts it.
 * Cookie: HttpOnly, SameSite=Strict (no cross-site requests carry it), Secure when served over HTTPS.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'mc_session';

/** The secrets sessions are signed with (the API keys and the admin password; see auth.ts `Credentials`). */
export interface SessionSecrets {
  apiKeys: string[];
  adminPassword?: string;
}
const TTL_MS = 12 * 60 * 60 * 1000;

/** The signing key: derived from the configured secrets, so rotating them ends every session. */
function signingKey(creds: SessionSecrets): Buffer {
  return createHash('sha256')
    .update(['mc-session-v1', ...creds.apiKeys, creds.adminPassword ?? ''].join('\n'))
    .digest();
}

export function issueSession(creds: SessionSecrets, now = Date.now()): string {
  const expires = String(now + TTL_MS);
  const mac = createHmac('sha256', signingKey(creds)).update(expires).digest('base64url');
  return `v1.${expires}.${mac}`;
}

export function validSession(creds: SessionSecrets, token: string | undefined, now = Date.now()): boolean {
  const m = /^v1\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(token ?? '');
  if (!m || Number(m[1]) < now) return false;
  const expected = createHmac('sha256', signingKey(creds)).update(m[1]).digest();
  const given = Buffer.from(m[2], 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
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
  const age = token ? Math.floor(TTL_MS / 1000) : 0;
  res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${age}${secure}`);
}
