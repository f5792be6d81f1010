/**
 * The page in Debian's Chromium (playwright-core, never a downloaded browser), as the browser tests drive it: a
 * context per viewport and colour scheme, signed in through the API's login; a strict Content-Security-Policy on
 * every document (the API's own when it sends one, else this one, so the page is held to it either way); and a
 * record of what must not happen — console errors, CSP violations, requests that leave the machine.
 * Also the accessibility scan (axe-core injected into the page) and the overflow check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.MC_CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'docs', 'screenshots');

/** The policy the page is built to: everything from 'self', no inline script, style, style attribute or handler, no eval. */
export const STRICT_CSP =
  "default-src 'self'; script-src 'self'; script-src-attr 'none'; style-src 'self'; style-src-attr 'none'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface Recorder {
  consoleErrors: string[];
  cspViolations: string[];
  foreignRequests: string[];
  /** Documents served without a CSP of the API's own (the test added STRICT_CSP to them). */
  cspAdded: number;
}

export function newRecorder(): Recorder {
  return { consoleErrors: [], cspViolations: [], foreignRequests: [], cspAdded: 0 };
}

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface ContextOptions {
  width: number;
  height: number;
  colorScheme?: 'light' | 'dark';
  /** Sign in with this password through POST /login (the session cookie lands in the context). */
  password?: string;
}

/** A browser context on `baseUrl` that records errors, CSP violations and foreign requests into `rec`. */
export async function openContext(browser: Browser, baseUrl: string, rec: Recorder, opts: ContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: opts.width, height: opts.height }, colorScheme: opts.colorScheme ?? 'dark', baseURL: baseUrl });
  // (Page code is given as strings: this project's TypeScript has no DOM types.)
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (e) => {
    (window.__cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
  });`);
  context.on('request', (req) => {
    if (!req.url().startsWith(baseUrl) && !req.url().startsWith('data:')) rec.foreignRequests.push(req.url());
  });
  // Only the page's documents are routed (to add the policy); every other request goes its own way untouched.
  const isDocument = (url: URL) => url.href.startsWith(baseUrl) && ['/', '/index.html', '/login'].includes(url.pathname);
  await context.route(isDocument, async (route) => {
    const req = route.request();
    if (req.method() !== 'GET') return route.continue();
    const res = await route.fetch({ maxRedirects: 0 });
    const headers = res.headers();
    if (headers['content-security-policy']) return route.fulfill({ response: res });
    rec.cspAdded++;
    return route.fulfill({ response: res, headers: { ...headers, 'content-security-policy': STRICT_CSP } });
  });
  context.on('page', (page) => watch(page, rec));
  if (opts.password) {
    const r = await context.request.post(`${baseUrl}/login`, { data: { password: opts.password } });
    if (r.status() !== 200) throw new Error(`login failed: ${r.status()}`);
  }
  return context;
}

function watch(page: Page, rec: Recorder): void {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Content Security Policy/i.test(m.text())) rec.cspViolations.push(m.text());
    else rec.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => rec.consoleErrors.push(e.message));
}

/** CSP violations the page itself reported (securitypolicyviolation events) since it loaded. */
export async function pageViolations(page: Page): Promise<string[]> {
  return (await page.evaluate('window.__cspViolations ?? []')) as string[];
}

/** The document is no wider than the window (nothing scrolls sideways). */
export async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return (await page.evaluate('({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })')) as { scrollWidth: number; innerWidth: number };
}

const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's scan of the page as it is: its serious and critical violations. */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  // Injected through the DevTools protocol (not a <script> element), so the page's CSP does not apply to it.
  await page.evaluate(AXE);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`) }));
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Wait until `read()` gives `want` (a value, or a pattern for text); fails with the last value seen. */
export async function until<T>(read: () => Promise<T>, want: T | RegExp | ((v: T) => boolean), timeoutMs = 15_000, what = 'value'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  const ok = (v: T) => (typeof want === 'function' ? (want as (v: T) => boolean)(v) : want instanceof RegExp ? want.test(String(v)) : v === want);
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch {
      /* not there yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: wanted ${String(want)}, last saw ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
