/** The page's password gate: a public login page that trades a secret for a session cookie. */
import path from 'node:path';
import express, { Router } from 'express';
import { z } from 'zod';
import { allSecrets, Credentials, matchesSecret } from '../auth';
import { issueSession, setSessionCookie } from '../session';

const LoginBody = z.object({ password: z.string().min(1).max(1000), next: z.string().optional() });

/** Only same-site paths, so the login cannot be used to redirect elsewhere. */
const safeNext = (next: string | undefined) => (next && /^\/(?!\/)[\w\-./?=&%#]*$/.test(next) ? next : '/');

export function sessionRouter(creds: Credentials, webDir: string): Router {
  const r = Router();
  r.get('/login', (_req, res) => res.sendFile(path.join(webDir, 'login.html')));
  r.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), express.json({ limit: '4kb' }), (req, res) => {
    const body = LoginBody.parse(req.body ?? {});
    const wantsJson = req.is('application/json');
    if (!matchesSecret(body.password, allSecrets(creds))) {
      if (wantsJson) return void res.status(401).json({ error: 'wrong password' });
      return void res.redirect(303, `/login?error=1&next=${encodeURIComponent(safeNext(body.next))}`);
    }
    setSessionCookie(req, res, issueSession(creds));
    if (wantsJson) return void res.json({ ok: true });
    res.redirect(303, safeNext(body.next));
  });
  r.post('/logout', (req, res) => {
    setSessionCookie(req, res, null);
    res.redirect(303, '/login');
  });
  return r;
}
