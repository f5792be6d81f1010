/**
 * What every request goes through before a route sees it: security headers on every response (helmet, with the
 * strict Content-Security-Policy below), a bound on JSON nesting for every body, the JSON content type for every
 * request that changes something, and a same-origin check for requests that authenticate with the page's cookie.
 */
import type { Request, RequestHandler } from 'express';
import helmet from 'helmet';
import { Forbidden, UnsupportedMediaType } from '../errors';

/**
 * The Content-Security-Policy of every response. The page, the login page and /docs load only their own scripts and
 * stylesheets from this origin: no inline `<script>` or `<style>`, no `style="..."` attribute in markup, no
 * `on...=` handler attributes, no eval, no CDN. Images from this origin or `data:` URLs (icons); requests
 * (fetch, EventSource) to this origin only; no frames, plugins or `<base>`; forms post to this origin only; no page
 * may frame ours. Setting `element.style.x` from a script file is allowed (that is not an inline style).
 */
export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'style-src-attr': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'frame-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
} as const;

/**
 * helmet's headers on every response: the CSP above, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`
 * (for browsers without frame-ancestors), `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy` and
 * `Cross-Origin-Resource-Policy: same-origin`, `Strict-Transport-Security` (browsers honour it over HTTPS only).
 * No `upgrade-insecure-requests`: the API is served over plain HTTP on 127.0.0.1 by default.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { ...CSP_DIRECTIVES } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
}

/**
 * How deep `body` nests JSON objects and arrays, stopping as soon as it passes `max`. A scan of the raw bytes
 * (strings and escapes skipped; multi-byte UTF-8 never contains these ASCII bytes), so a hostile body is refused
 * before JSON.parse builds it and before anything recursive (a merge patch, a deep copy) walks it. Hand-written:
 * JSON parsers offer no depth limit, and this is a loop of a dozen lines.
 */
export function jsonDepthExceeds(body: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c /* \ */) escaped = true;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/** The error a too-deep body gets: 400, naming the limit. */
export function tooDeep(max: number): Error & { status: number; type: string } {
  return Object.assign(new Error(`JSON nested deeper than ${max} levels (the limit, MC_MAX_JSON_DEPTH)`), { status: 400, type: 'entity.too.deep', expose: true });
}

/** body-parser's `verify` hook: refuses a JSON body nested deeper than `max` before it is parsed. */
export const verifyJsonDepth =
  (max: number) =>
  (_req: unknown, _res: unknown, buf: Buffer): void => {
    if (jsonDepthExceeds(buf, max)) throw tooDeep(max);
  };

const JSON_TYPES = ['application/json', 'application/*+json'];
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether the request carries body bytes (a `Content-Length: 0` request carries none). */
export function hasBodyBytes(req: Request): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = Number(req.headers['content-length'] ?? 0);
  return Number.isFinite(length) && length > 0;
}

/**
 * Requests that change something speak JSON. A body must be sent as `application/json` (or `application/*+json`);
 * a body-less request may carry no Content-Type at all, or `application/json`. Anything else is a 415 — in
 * particular the three types a cross-site HTML form can send (`application/x-www-form-urlencoded`,
 * `multipart/form-data`, `text/plain`), with or without a body. `allow` adds types for one route (the login form).
 */
export function requireJsonBody(allow: string[] = []): RequestHandler {
  const accepted = [...JSON_TYPES, ...allow];
  return function requireJson(req, _res, next) {
    if (!CHANGES.has(req.method)) return next();
    const type = req.headers['content-type'];
    if (!hasBodyBytes(req) && type === undefined) return next();
    // type-is, through Express: true when the Content-Type matches (body or not).
    if (type !== undefined && req.is(accepted)) return next();
    next(
      new UnsupportedMediaType(
        type === undefined
          ? 'a request body must be sent as JSON (Content-Type: application/json)'
          : `Content-Type ${type.split(';')[0]} is not accepted: send JSON (Content-Type: application/json), or no body and no Content-Type`,
      ),
    );
  };
}

/**
 * Whether a browser sent this request from one of our own pages. `Sec-Fetch-Site` (set by the browser, not by
 * scripts) must be `same-origin`; a browser without it sends `Origin`, whose host must be this request's Host. A
 * request with neither comes from a program, not from a page another site controls: it is let through (CSRF needs
 * a victim's browser).
 */
export function sameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false; // `Origin: null` (sandboxed frames, privacy modes) and garbage
  }
}

/** 403 for a state change a browser sent from another site (cross-site request forgery). */
export function refuseCrossSite(req: Request): Forbidden | undefined {
  if (!CHANGES.has(req.method) || sameOrigin(req)) return undefined;
  return new Forbidden('cross-site request refused: state changes with the session cookie must come from this site\'s own pages');
}
