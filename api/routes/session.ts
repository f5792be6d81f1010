/** The page's password gate: a public login page that trades a secret for a session cookie. */
import path from 'node:path';
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { allSecrets, Credentials, matchesSecret } from '../auth';
import { refuseCrossSite, requireJsonBody, verifyJsonDepth } from '../http/protection';
import { route, type RouteDef } from '../http/route';
import type { SessionRevocations } from '../session-revocations';
import { issueSession, sessionFromRequest, setSessionCookie, verifySession } from '../session';

const LoginBody = z.object({
  password: z.string().min(1).max(1000).describe('MC_ADMIN_PASSWORD or an API key'),
  next: z.string().optional().describe('Where to go after signing in (a path on this site)'),
});

/** Only same-site paths, so the login cannot be used to redirect elsewhere. */
const safeNext = (next: string | undefined) => (next && /^\/(?!\/)[\w\-./?=&%#]*$/.test(next) ? next : '/');

const HTML = 'text/html';

/** What the public login page loads (everything else of web/ needs credentials). */
const LoginAssetParams = z.object({ file: z.enum(['login.css', 'login.js']) }).strict();

const FORM = 'application/x-www-form-urlencoded';

/** Login and logout change the session: only from this site's own pages (a cross-site form is refused, 403). */
const sameSiteOnly: RequestHandler = (req, _res, next) => next(refuseCrossSite(req));

export function sessionRoutes(
  creds: Credentials,
  webDir: string,
  opts: { maxJsonDepth: number; loginLimiter: RequestHandler; revocations: SessionRevocations },
): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/login',
        tag: 'page',
        access: 'public',
        summary: 'The login page',
        raw: true,
        responses: { 200: { description: 'The page', contentType: HTML, schema: z.string() } },
      },
      ({ res }) => res.sendFile(path.join(webDir, 'login.html')),
    ),
    route(
      {
        method: 'get',
        path: '/login/assets/:file',
        tag: 'page',
        access: 'public',
        summary: 'The login page\'s stylesheet and script',
        description: 'Files of their own (no inline style or script), so the Content-Security-Policy can forbid inline code.',
        params: LoginAssetParams,
        raw: true,
        responses: { 200: { description: 'A stylesheet or script', contentType: 'application/octet-stream', schema: z.string() }, 400: 'Not one of the login page\'s files' },
      },
      ({ params, res }) => res.sendFile(path.join(webDir, params.file), { maxAge: '1h' }),
    ),
    route(
      {
        method: 'post',
        path: '/login',
        tag: 'page',
        access: 'public',
        summary: 'Sign in to the page',
        description: 'Sets the session cookie. A form post is redirected (303) to `next`, or back to the login page when the password is wrong; a JSON post gets `{ ok: true }` or a 401.',
        middleware: [
          opts.loginLimiter,
          sameSiteOnly,
          requireJsonBody([FORM]),
          express.urlencoded({ extended: false, limit: '4kb' }),
          express.json({ limit: '4kb', verify: verifyJsonDepth(opts.maxJsonDepth) }),
        ],
        body: LoginBody,
        bodyTypes: [FORM, 'application/json'],
        raw: true,
        responses: {
          200: ['Signed in (JSON)', z.object({ ok: z.literal(true) })],
          303: 'Signed in, or wrong password (form): redirect',
          401: 'Wrong password (JSON)',
          429: 'Too many failed sign-ins from this address (MC_RATE_LIMIT_LOGIN); `Retry-After` says when to try again',
        },
      },
      ({ req, res, body }) => {
        const wantsJson = req.is('application/json');
        if (!matchesSecret(body.password, allSecrets(creds))) {
          if (wantsJson) return void res.status(401).json({ error: 'wrong password' });
          return void res.redirect(303, `/login?error=1&next=${encodeURIComponent(safeNext(body.next))}`);
        }
        res.locals.signedIn = true; // not a failed sign-in (the login rate limit counts those)
        setSessionCookie(req, res, issueSession(creds));
        if (wantsJson) return void res.json({ ok: true });
        res.redirect(303, safeNext(body.next));
      },
    ),
    route(
      {
        method: 'post',
        path: '/logout',
        tag: 'page',
        access: 'public',
        summary: 'Sign out of the page',
        description:
          'Ends the session on every API replica (its id is recorded as revoked in Temporal, which every replica checks before it accepts a cookie), clears the cookie and redirects to the login page.',
        middleware: [sameSiteOnly, requireJsonBody([FORM])],
        raw: true,
        responses: { 303: 'Redirect to /login', 503: 'Temporal could not record the sign-out (the cookie is kept: try again)' },
      },
      async ({ req, res }) => {
        const session = verifySession(creds, sessionFromRequest(req));
        if (session) await opts.revocations.revoke({ sid: session.sid, until: session.expires });
        setSessionCookie(req, res, null);
        res.redirect(303, '/login');
      },
    ),
  ];
}
