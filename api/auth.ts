/**
 * Credentials. Every endpoint but /healthz needs `Authorization: Bearer <key>` (MC_API_KEYS). With neither
 * MC_API_KEYS nor MC_ADMIN_PASSWORD set, a key is generated on first start, kept in the data folder (mode 0600)
 * and printed once. Keys are compared as SHA-256 digests in constant time and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RequestHandler } from 'express';
import type { Config } from '../lib/config';
import { refuseCrossSite } from './http/protection';
import type { SessionRevocations } from './session-revocations';
import { sessionFromRequest, verifySession } from './session';

export interface Credentials {
  apiKeys: string[];
  adminPassword?: string;
  /** Set when this start generated the key (print it once). */
  generatedKey?: string;
  /** Where a generated key is kept. */
  keyFile?: string;
}

export function resolveCredentials(c: Config): Credentials {
  const apiKeys = (c.MC_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (apiKeys.length || c.MC_ADMIN_PASSWORD) return { apiKeys, adminPassword: c.MC_ADMIN_PASSWORD };
  const keyFile = path.join(c.MC_DATA_DIR, 'api-key');
  if (fs.existsSync(keyFile)) {
    const key = fs.readFileSync(keyFile, 'utf8').trim();
    if (key) return { apiKeys: [key], keyFile };
  }
  const key = `mc_${randomBytes(24).toString('base64url')}`;
  fs.mkdirSync(c.MC_DATA_DIR, { recursive: true });
  fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return { apiKeys: [key], generatedKey: key, keyFile };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when `presented` equals one of `secrets`, compared in constant time. */
export function matchesSecret(presented: string, secrets: string[]): boolean {
  const d = digest(presented);
  let ok = false;
  for (const s of secrets) ok = timingSafeEqual(d, digest(s)) || ok;
  return ok;
}

/** The bearer token of a request, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m?.[1]?.trim();
}

/** Every secret that may log in: the API keys and the admin password. */
export const allSecrets = (creds: Credentials) => [...creds.apiKeys, ...(creds.adminPassword ? [creds.adminPassword] : [])];

/**
 * Who a request is, without answering it: sets `res.locals.principal` (`key:<digest>` or `session:<id>`, what the
 * rate limits count; never the secret itself) when it carries a valid API key (or the admin password) as a bearer
 * token, or a page session cookie that is signed, unexpired and not signed out (asked of Temporal, see
 * ./session-revocations.ts); for a session also `res.locals.cookieAuth` and `res.locals.sessionValid`, which an
 * open event stream calls again to end itself when the session is signed out.
 */
export function identify(creds: Credentials, revocations: SessionRevocations): RequestHandler {
  const secrets = allSecrets(creds);
  return function identify(req, res, next) {
    const token = bearerToken(req.headers.authorization);
    if (token) {
      if (matchesSecret(token, secrets)) res.locals.principal = `key:${digest(token).toString('hex').slice(0, 24)}`;
      return next();
    }
    const session = verifySession(creds, sessionFromRequest(req));
    if (!session) return next();
    revocations.isRevoked(session.sid).then((revoked) => {
      if (!revoked) {
        res.locals.principal = `session:${session.sid}`;
        res.locals.cookieAuth = true;
        res.locals.sessionValid = async () => session.expires > Date.now() && !(await revocations.isRevoked(session.sid));
      }
      next();
    }, next);
  };
}

/**
 * Lets through a request `identify` recognised; a browser asking for a page without credentials is sent to the
 * login page, everything else gets a 401. A state change authenticated by the cookie (which the browser sends on
 * its own) must come from one of this site's pages (403 otherwise, see http/protection.ts).
 */
export function requireAuth(): RequestHandler {
  return function requireAuth(req, res, next) {
    if (res.locals.principal) return next(res.locals.cookieAuth ? refuseCrossSite(req) : undefined);
    const token = bearerToken(req.headers.authorization);
    if (!token && req.method === 'GET' && req.accepts(['json', 'html']) === 'html' && !req.path.startsWith('/api/')) {
      res.redirect(302, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="mission-control"')
      .json({ error: token ? 'invalid credentials' : 'missing credentials: send Authorization: Bearer <api key>' });
  };
}
