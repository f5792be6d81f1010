/**
 * The page in Debian's Chromium, as its user and as an attacker's site would meet it:
 * - the page, the login page and /docs under the API's strict Content-Security-Policy: every violation the browser
 *   reports (the `securitypolicyviolation` event and its console message) fails the test, and each page is checked
 *   to have actually worked (signed in, a run reached Done, Swagger UI rendered the document);
 * - a form on another origin (another port of the same host: same-site, so SameSite=Strict lets the cookie through)
 *   that posts to the API with the user's cookie is refused (403) and changes nothing.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium, Browser, Page } from 'playwright-core';
import { CSP_DIRECTIVES } from '../api/http/protection';
import { startTestApi, TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const CHROMIUM = process.env.MC_CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'csp test password';

let env: TestWorkflowEnvironment;
let api: TestApi;
let browser: Browser;
let page: Page;
let attacker: http.Server;
let attackerUrl: string;
/** Every violation the browser reported, on any page. */
const violations: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  env = await createTestEnv();
  api = await startTestApi(env, { MC_ADMIN_PASSWORD: PASSWORD, MC_OFFLINE_DELAY_MS: '100' });
  // The attacker's page: a form that posts to the API as soon as it loads.
  attacker = http.createServer((req, res) => {
    const target = new URL(req.url!, 'http://x').searchParams.get('target')!;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><form id="f" method="post" action="${target}"><input name="x" value="1"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
  // Injected by the browser driver (not subject to the page's CSP): records every violation report.
  await page.exposeFunction('__reportViolation', (v: string) => void violations.push(v));
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      window.__reportViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber));`,
  });
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(`console: ${m.text()}`);
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
  await api?.stop();
  await env?.teardown();
});

test('When the API answers anything, then the Content-Security-Policy forbids inline code and framing', async () => {
  const res = await fetch(`${api.web.url}/login`);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(Object.keys(CSP_DIRECTIVES).every((d) => csp.includes(d))).toBe(true);
});

test('When a user signs in, starts a run, opens it and reads /docs in Chromium, then the browser reports no CSP violation', async () => {
  await page.goto(`${api.web.url}/login?error=1`);
  // login.js ran (it shows the error of a failed attempt): scripts from files work under the policy.
  await page.waitForSelector('#error:not([hidden])');
  // login.css applied (dark or light, as the system is): styles from files work under the policy.
  expect(['rgb(15, 23, 42)', 'rgb(241, 245, 249)']).toContain(await page.evaluate('getComputedStyle(document.body).backgroundColor'));
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#live.on');

  await page.click('#new-run-button');
  await page.check('#run-form input[name=kind][value=task]');
  await page.fill('#task', 'Explain content security policies');
  await page.click('#run-start');
  await page.waitForURL(/#\/run\//);
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
  await page.waitForSelector('#run-graph svg.graph g.node');
  await page.waitForSelector('#run-result .markdown');

  await page.goto(`${api.web.url}/docs`);
  await page.waitForSelector('.swagger-ui .opblock', { timeout: 30_000 });
  expect(await page.locator('.swagger-ui .opblock').count()).toBeGreaterThan(20);
  await page.locator('.swagger-ui .opblock').first().click();
  await page.waitForTimeout(300);

  expect(violations).toEqual([]);

  // The recorder is live: an inline script and an inline style, as an injected payload would try, are blocked and reported.
  await page.evaluate(`{
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    document.body.setAttribute('style', 'background: red');
  }`);
  await page.waitForTimeout(300);
  expect(await page.evaluate('window.__inlineRan')).toBeUndefined();
  expect(violations.some((v) => v.startsWith('script-src'))).toBe(true);
  expect(violations.some((v) => v.startsWith('style-src'))).toBe(true);
});

test('When another site\'s page posts a form to the API with the signed-in user\'s cookie, then the API answers 403 and nothing changes', async () => {
  const key = { authorization: `Bearer ${api.config.MC_ADMIN_PASSWORD}`, 'content-type': 'application/json' };
  const created = await fetch(`${api.web.url}/api/robots`, { method: 'POST', headers: key, body: JSON.stringify({ id: 'target', name: 'Target', role: 'Has a webhook.', webhook: { enabled: true } }) });
  expect(created.status).toBe(201);
  // Signed in (the previous test), the browser holds the session cookie.
  expect((await page.context().cookies(api.web.url)).map((c) => c.name)).toContain('mc_session');
  const target = `${api.web.url}/api/robots/target/webhook/rotate`;
  const answer = page.waitForResponse((r) => r.url() === target);
  await page.goto(`${attackerUrl}/?target=${encodeURIComponent(target)}`);
  const res = await answer;
  expect(res.status()).toBe(403);
  expect(res.request().headers()['cookie'] ?? (await res.request().allHeaders())['cookie']).toMatch(/mc_session=/);
  expect(await res.json()).toEqual({ error: expect.stringMatching(/^cross-site request refused/) });
  // Nothing was rotated: the robot is still at version 1.
  const robot = await fetch(`${api.web.url}/api/robots/target`, { headers: key });
  expect(((await robot.json()) as { version: number }).version).toBe(1);
});
