/**
 * The page in headless Chromium (Debian's package, driven by playwright-core): password gate, starting a run,
 * the board moving it to Done by pushed events, the run's progress dialog, cancelling from the page, and no
 * request leaving the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { chromium, Browser, Page } from 'playwright-core';
import { startWebServer, WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { createMetrics } from '../lib/metrics';
import { createTestEnv, startTestWorker, testConfig } from '../testkit/temporal';

const CHROMIUM = process.env.MC_CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'correct horse battery staple';

let env: TestWorkflowEnvironment;
let web: WebServer;
let worker: Worker;
let workerDone: Promise<void>;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
const foreignRequests: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  env = await createTestEnv();
  const config = testConfig({ MC_ADMIN_PASSWORD: PASSWORD, MC_OFFLINE_DELAY_MS: '250' });
  worker = await startTestWorker(env, config);
  workerDone = worker.run();
  web = await startWebServer({ client: env.client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(web.url)) foreignRequests.push(r.url());
  });
});

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerDone;
  await env?.teardown();
});

test('When the page is opened without a session, then it asks for the password and refuses a wrong one', async () => {
  await page.goto(web.url);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('#password', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  const api = await page.evaluate(async () => (await fetch('/api/runs')).status);
  expect(api).toBe(401);
});

test('When a user signs in and starts a run, then the board shows it reach Done and the dialog shows its five stages', async () => {
  await page.goto(`${web.url}/login`);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#board .column[data-status="Done"]');
  expect(await page.textContent('#model')).toMatch(/Offline model/);
  await page.waitForSelector('#live.on');

  await page.fill('#task', 'Summarise why durable execution matters');
  await page.click('#run-form button[type=submit]');
  const card = page.locator('#board .column[data-status="Done"] .card', { hasText: 'Summarise why durable execution matters' });
  await card.waitFor({ timeout: 30_000 });
  const id = await card.getAttribute('data-run-id');
  expect(id).toMatch(/^run-[0-9a-f-]{36}$/);
  // The id is shown whole.
  expect(await card.locator('.id').textContent()).toBe(id);
  // The activity stream received the run's events.
  expect(await page.locator('#events li', { hasText: id! }).count()).toBeGreaterThanOrEqual(10);

  await card.click();
  await page.waitForSelector('#run-detail [data-run-status="Done"]');
  const stages = await page.$$eval('#run-detail tr[data-stage]', (rows) => rows.map((r) => [r.getAttribute('data-stage'), r.children[1].textContent]));
  expect(stages).toEqual([
    ['inspiration', 'done'],
    ['goals', 'done'],
    ['tasks', 'done'],
    ['validation', 'done'],
    ['delivery', 'done'],
  ]);
  expect(await page.textContent('#run-result')).toContain('Summarise why durable execution matters');
  await page.screenshot({ path: path.join(os.tmpdir(), 'mc-web-run.png') });
  await page.click('#run-dialog form button');
  await page.waitForSelector('#metrics [data-metric="Done"] b');
  expect(Number(await page.textContent('#metrics [data-metric="Done"] b'))).toBeGreaterThanOrEqual(1);
});

test('When a user cancels a running run from its dialog, then it moves to Cancelled', async () => {
  await page.fill('#task', 'A long job to cancel from the page');
  await page.click('#run-form button[type=submit]');
  const running = page.locator('#board .column[data-status="Running"] .card', { hasText: 'A long job to cancel' });
  await running.waitFor({ timeout: 15_000 });
  await running.click();
  await page.waitForSelector('#cancel-run');
  await page.click('#cancel-run');
  await page.waitForSelector('#run-detail [data-run-status="Cancelled"]', { timeout: 10_000 });
  expect(await page.textContent('#run-detail')).toMatch(/Cancelled during/);
  await page.click('#run-dialog form button');
  await page.locator('#board .column[data-status="Cancelled"] .card', { hasText: 'A long job to cancel' }).waitFor({ timeout: 10_000 });
  await page.screenshot({ path: path.join(os.tmpdir(), 'mc-web-board.png') });
});

test('When a run asks for review before delivery, then it waits in Review and the reviewer approves it from the page', async () => {
  await page.fill('#task', 'Draft the release notes for the review test');
  await page.check('#opt-review');
  await page.click('#run-form button[type=submit]');
  await page.uncheck('#opt-review');
  const card = page.locator('#board .column[data-status="Review"] .card', { hasText: 'release notes for the review test' });
  await card.waitFor({ timeout: 30_000 });
  await card.click();
  await page.waitForSelector('#gate-panel[data-gate="final"]');
  // What is to be approved is shown: the formatted delivery.
  expect(await page.textContent('#gate-panel')).toContain('Draft the release notes');
  await page.fill('#gate-feedback', 'Looks right');
  await page.click('#gate-approve');
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 15_000 });
  expect(await page.locator('#gate-panel').count()).toBe(0);
  // The task graph of the Tasks stage is shown node by node.
  expect(await page.locator('#dag-panel tr[data-node]').count()).toBeGreaterThanOrEqual(2);
  expect(await page.locator('#dag-panel td.status-done').count()).toBe(await page.locator('#dag-panel tr[data-node]').count());
  await page.screenshot({ path: path.join(os.tmpdir(), 'mc-web-review.png') });
  await page.click('#run-dialog form button');
});

test('When a reviewer rejects at the gate with a reason, then the run ends Failed with that reason', async () => {
  await page.fill('#task', 'A draft the reviewer will reject');
  await page.check('#opt-review');
  await page.click('#run-form button[type=submit]');
  await page.uncheck('#opt-review');
  const card = page.locator('#board .column[data-status="Review"] .card', { hasText: 'the reviewer will reject' });
  await card.waitFor({ timeout: 30_000 });
  await card.click();
  await page.waitForSelector('#gate-panel');
  await page.fill('#gate-feedback', 'Not what we need');
  await page.click('#gate-reject');
  await page.waitForSelector('#run-detail [data-run-status="Failed"]', { timeout: 15_000 });
  expect(await page.textContent('#run-detail')).toContain('Not what we need');
  await page.click('#run-dialog form button');
});

test('When a user asks for the Robot Host, then the page carries the conversation and the confirmation starts the run', async () => {
  await page.fill('#task', 'Plan a launch');
  await page.check('#opt-host');
  await page.click('#run-form button[type=submit]');
  await page.uncheck('#opt-host');
  const card = page.locator('#board .card', { hasText: 'Plan a launch' });
  await card.waitFor({ timeout: 15_000 });
  await card.click();
  await page.waitForSelector('#host-panel #host-message', { timeout: 15_000 });
  expect(await page.locator('#host-panel .transcript li.host').count()).toBeGreaterThanOrEqual(1);
  await page.fill('#host-message', 'For the mobile app, in March');
  await page.click('#host-send');
  await page.waitForSelector('#host-confirm', { timeout: 15_000 });
  expect(await page.textContent('#host-panel')).toContain('mobile app');
  await page.click('#host-confirm');
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
  await page.click('#run-dialog form button');
});

test('When the whole session is over, then the page made no request off the machine and logged no errors', () => {
  expect(foreignRequests).toEqual([]);
  expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
});
