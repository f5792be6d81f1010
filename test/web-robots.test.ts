/**
 * Robots on the page, in headless Chromium under a strict CSP: created in the editor drawn from /openapi.json with
 * a schedule and a gate, Generate filling the role, a bad cron shown at its field, the next run time from Temporal
 * on the robot's page and in the list, the webhook secret shown once, pause and resume, the schedule run now and
 * backfilled; a task assigned from the robot's page and followed on the run's page (graph, node details); the
 * run approved by dragging its card to Done after a confirmation; the result as Markdown with an HTML payload
 * inert; delete asking first (twice, while a run is going).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { apiClient, runWaiter } from './helpers/http';
import { launch, newRecorder, openContext, pageViolations, screenshot, seriousA11yViolations, until } from './helpers/browser';

const PASSWORD = 'robots page password';
const KEY = 'robots-page-key';
const ROBOT = 'morning-brief';
const PAYLOAD = 'Prepare the brief <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> with **bold** claims';

let env: TestWorkflowEnvironment;
let api: TestApi;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let secret = '';
/** A webhook receiver that refuses every delivery (400): its destination fails for good. */
let refusing: http.Server;
let refusingUrl = '';
let runId = '';
const rec = newRecorder();
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  env = await createTestEnv();
  refusing = http.createServer((req, res) => req.resume().on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no thanks"}')));
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/hook`;
  api = await startTestApi(env, {
    MC_ADMIN_PASSWORD: PASSWORD,
    MC_API_KEYS: KEY,
    MC_OFFLINE_DELAY_MS: '100',
    MC_WEBHOOK_KEY: 'robots-page-webhook-master-key',
    MC_FETCH_ALLOWLIST: '127.0.0.1',
    MC_ARTIFACT_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mc-web-artifacts-')),
  });
  browser = await launch();
  context = await openContext(browser, api.web.url, rec, { width: 1440, height: 900, password: PASSWORD });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  refusing?.close();
  await api?.stop();
  await env?.teardown();
});

const field = (path: string) => page.locator(`#robot-form [data-path="${path}"]`);

test('When a robot is created from the page with a schedule and a gate, then Generate fills the role, a bad cron is shown at its field, and once fixed the robot has its next run time from Temporal and its webhook secret is shown once', async () => {
  await page.goto(`${api.web.url}/#/robots`);
  await page.click('#add-robot');
  await page.waitForSelector('#robot-form');
  // Basic
  await field('id').fill(ROBOT);
  await field('name').fill('Morning brief');
  await field('workMode').selectOption('autonomous');
  await field('duty').fill('Write the morning brief.');
  // Identity: Generate drafts the role from the name.
  await page.click('#tab-identity');
  expect(await field('role').inputValue()).toBe('');
  await page.click('#generate-role');
  const role = await until(() => field('role').inputValue(), (v) => v.length > 20, 30_000, 'the drafted role');
  expect(role).toMatch(/Morning brief/i);
  // Schedule & triggers: a cron with a bad minute, a time zone, the webhook.
  await page.click('#tab-schedule');
  await page.check('[data-toggle="schedule"]');
  await field('schedule.every').fill('');
  await field('schedule.cron').fill('61 9 * * MON-FRI');
  await field('schedule.timezone').fill('Europe/Berlin');
  await page.check('[data-toggle="webhook"]');
  // Approvals & budget: a gate before delivery takes effect.
  await page.click('#tab-control');
  await page.check('[data-toggle="approvals"]');
  expect(await field('approvals.gates.0.at').inputValue()).toBe('final');
  // Delivery: the destination types are the API's own (its robot schema in /openapi.json), not a list in the page.
  await page.click('#tab-delivery');
  await page.click('[data-add="delivery"]');
  const doc = (await call('GET', '/openapi.json')).json;
  const types = doc.components.schemas.CreateRobotBody.properties.delivery.items.oneOf.map((v: { properties: { type: { enum: string[] } } }) => v.properties.type.enum[0]);
  expect(types.length).toBeGreaterThan(1);
  expect(await page.locator('#robot-form [data-path="delivery.0.type"] option').evaluateAll((os) => os.map((o) => o.getAttribute('value')))).toEqual(types);
  await page.click('[data-remove="delivery.0"]');
  expect(await page.locator('#robot-form [data-path="delivery.0.type"]').count()).toBe(0);

  await page.click('#robot-save');
  const cronError = page.locator('#robot-form [data-field="schedule.cron"] .field-error');
  await cronError.waitFor();
  expect(await cronError.textContent()).toMatch(/invalid cron expression: minute/);
  expect(await page.getAttribute('#tab-schedule', 'aria-selected')).toBe('true');
  expect(await field('schedule.cron').getAttribute('aria-invalid')).toBe('true');
  expect(await page.textContent('#schedule-words')).toMatch(/not a valid cron expression/);
  expect((await call('GET', `/api/robots/${ROBOT}`)).status).toBe(404);

  await field('schedule.cron').fill('0 9 * * MON-FRI');
  expect(await until(() => page.textContent('#schedule-words'), /09:00/, 5000, 'schedule in words')).toMatch(/Monday through Friday.*Europe\/Berlin/);
  await page.click('#robot-save');
  await page.waitForSelector('#secret-dialog[open]');
  secret = await page.inputValue('#secret-value');
  expect(secret.length).toBeGreaterThan(20);
  await page.click('#secret-copy');
  await until(() => page.textContent('#secret-copied'), 'Copied.', 5000, 'copied note');
  await page.click('#secret-close');
  // The dialog's close event (queued after the click) empties the field: the secret does not stay in the page.
  await until(() => page.inputValue('#secret-value'), '', 5000, 'secret field emptied');

  // The robot's page: next runs from Temporal.
  await page.waitForURL(new RegExp(`#/robot/${ROBOT}$`));
  const robot = (await call('GET', `/api/robots/${ROBOT}`)).json;
  expect(robot.state.nextRunTimes.length).toBeGreaterThan(0);
  await page.waitForSelector('#robot-next-runs li time');
  expect(await page.getAttribute('#robot-next-runs li time', 'datetime')).toBe(robot.state.nextRunTimes[0]);
  const next = new Date(robot.state.nextRunTimes[0]);
  expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', weekday: 'short' }).format(next)).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
  await page.click('#tab-schedule');
  await page.waitForSelector('#toast:not(.show)', { state: 'attached', timeout: 10_000 });
  await screenshot(page, 'robot-editor.png', true);

  // Integrations: how any OpenAI client reaches this robot.
  await page.click('#tab-integrations');
  expect(await page.textContent('#panel-integrations')).toContain(`"model": "${ROBOT}"`);
  expect(await page.textContent('#panel-integrations')).toContain('/v1/chat/completions');

  // Listed with its next run time.
  await page.goto(`${api.web.url}/#/robots`);
  const row = page.locator(`tr[data-robot="${ROBOT}"]`);
  await row.waitFor();
  expect(await row.locator('[data-field="next-run"] time').getAttribute('datetime')).toBe(robot.state.nextRunTimes[0]);
  expect(await row.textContent()).toMatch(/Active/);
  expect(await row.textContent()).toMatch(/Monday through Friday/);

  // Shown once: the robot's page and the API never show it again.
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.waitForSelector('#robot-form');
  expect(await page.isVisible('#secret-dialog')).toBe(false);
  expect(await page.content()).not.toContain(secret);
  expect((await call('GET', `/api/robots/${ROBOT}`)).text).not.toContain(secret);
  expect(await seriousA11yViolations(page)).toEqual([]);
});

test('When the robot is paused and resumed from its page, then Temporal\'s schedule follows; running the schedule now starts a scheduled run; a backfill is accepted', async () => {
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.click('#pause-robot');
  await until(() => page.textContent('#robot-state'), 'Paused', 10_000, 'robot state');
  expect((await call('GET', `/api/robots/${ROBOT}`)).json.state.paused).toBe(true);
  expect(await page.textContent('#robot-summary')).toMatch(/No next run/);
  await page.click('#resume-robot');
  await until(() => page.textContent('#robot-state'), 'Active', 10_000, 'robot state');
  expect((await call('GET', `/api/robots/${ROBOT}`)).json.state.paused).toBe(false);

  await page.click('#trigger-schedule');
  const scheduled = await until(async () => (await call('GET', `/api/robots/${ROBOT}/runs`)).json.runs.find((r: { trigger: string }) => r.trigger === 'schedule'), (r) => !!r, 20_000, 'a scheduled run');
  expect(scheduled.task).toBe('Write the morning brief.');

  await page.click('#backfill');
  await page.waitForSelector('#backfill-dialog[open]');
  await page.selectOption('#backfill-overlap', 'allow_all');
  await page.click('#backfill-go');
  await page.waitForSelector('#backfill-dialog:not([open])', { state: 'attached' });
  expect(await page.isVisible('#backfill-error')).toBe(false);
  await until(() => page.textContent('#toast'), 'Backfill requested', 5000, 'toast');
});

test('When a task is assigned from the robot\'s page, then its run page draws the graph and a node\'s output, the card dragged from Review to Done approves after a confirmation, and the result renders as Markdown with the HTML payload inert', async () => {
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.click('#assign-task');
  await page.waitForSelector('#run-dialog[open]');
  expect(await page.inputValue('#run-robot')).toBe(ROBOT);
  await page.fill('#task', PAYLOAD);
  await page.click('#run-start');
  await page.waitForURL(/#\/run\//);
  runId = decodeURIComponent(new URL(page.url()).hash.replace('#/run/', ''));

  // Followed on its page: the graph, drawn, and a node's output on click.
  await page.waitForSelector('#run-graph svg.graph g.node.status-done', { timeout: 30_000 });
  const state = await waitFor(runId, (r) => r.status === 'Review', 30_000);
  expect(state.gate.gate).toBe('final');
  await until(() => page.locator('#run-graph svg.graph g.node.status-done').count(), state.dag.nodes.length, 10_000, 'nodes done');
  expect(await page.locator('#run-graph svg.graph path.edge').count()).toBe(state.dag.nodes.reduce((n: number, x: { dependsOn: string[] }) => n + x.dependsOn.length, 0));
  await page.click(`#run-graph g.node[data-node="${state.dag.nodes[0].id}"]`);
  await page.waitForSelector('#node-detail .node-output');
  expect(await page.textContent('#node-detail .node-output')).toContain(state.dag.nodes[0].output.slice(0, 30).replace(/\*\*/g, ''));
  // At the gate: the report to approve, readable.
  await page.waitForSelector('#gate-panel[data-gate="final"] #gate-subject .markdown h1');

  // Approve by dragging the card from Review to Done, after a confirmation.
  await page.goto(`${api.web.url}/#/`);
  const card = `#board .column[data-status="Review"] .card[data-run-id="${runId}"]`;
  await page.waitForSelector(card);
  expect(await page.textContent(`${card} .status-line`)).toBe('waiting at the final gate (report ready)');
  await page.dragAndDrop(card, '#board .column[data-status="Done"] .cards');
  await page.waitForSelector('#confirm-dialog[open]');
  expect(await page.textContent('#confirm-title')).toBe('Approve at the final gate?');
  await page.click('#confirm-cancel');
  await page.waitForTimeout(500);
  expect((await call('GET', `/api/runs/${runId}`)).json.status).toBe('Review');
  await page.dragAndDrop(card, '#board .column[data-status="Done"] .cards');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-ok');
  await page.waitForSelector(`#board .column[data-status="Done"] .card[data-run-id="${runId}"]`, { timeout: 20_000 });
  const done = await waitFor(runId, (r) => r.status === 'Done');
  expect(done.approvals).toEqual([expect.objectContaining({ gate: 'final', decision: 'approve', by: 'page' })]);

  // The result as Markdown; the HTML in the task is text, nothing of it runs or loads.
  await page.goto(`${api.web.url}/#/run/${runId}`);
  await page.waitForSelector('#run-result .markdown h1');
  expect(await page.locator('#run-result strong').count()).toBeGreaterThan(0);
  expect(await page.locator('#run-result img, #run-result script, #run-detail img, #run-detail script, [onerror]').count()).toBe(0);
  expect(await page.textContent('#run-result')).toContain('<img src=x onerror="window.__pwned=1">');
  expect(await page.textContent('#run-task')).toBe(PAYLOAD);
  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  expect(await pageViolations(page)).toEqual([]);
});

test('When the robot is deleted from its page, then it asks first, asks again while a run is going, and then the robot is gone', async () => {
  // A scheduled run of the robot waits at its final gate: the delete must cancel it.
  const waiting = (await call('GET', `/api/robots/${ROBOT}/runs`)).json.runs.find((r: { trigger: string }) => r.trigger === 'schedule');
  await waitFor(waiting.id, (r) => r.status === 'Review', 30_000);
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.click('#delete-robot');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
  expect((await call('GET', `/api/robots/${ROBOT}`)).status).toBe(200);
  await page.click('#delete-robot');
  await page.click('#confirm-ok');
  await until(() => page.textContent('#confirm-title'), /run\(s\) of Morning brief are going/, 10_000, 'second confirmation');
  await page.click('#confirm-ok');
  await page.waitForURL(/#\/robots$/);
  expect((await call('GET', `/api/robots/${ROBOT}`)).status).toBe(404);
  await waitFor(waiting.id, (r) => r.status === 'Cancelled');
});

test('When a robot delivers to a file and to a webhook that refuses, then the run page shows each destination\'s status, the warning, and the file to download', async () => {
  expect((await call('POST', '/api/robots', { id: 'deliverer', name: 'Deliverer', role: 'Delivers reports.', delivery: [{ type: 'file', name: 'report' }, { type: 'webhook', url: refusingUrl }], onDeliveryFailure: 'warn' })).status).toBe(201);
  const id = (await call('POST', '/api/robots/deliverer/trigger', { task: 'Deliver the weekly numbers' })).json.id;
  const done = await waitFor(id, (r) => r.status === 'Done', 30_000);
  expect(done.delivery.warning).toBeTruthy();
  await page.goto(`${api.web.url}/#/run/${id}`);
  await page.waitForSelector('#run-delivery table.destinations');
  expect(await page.getAttribute('#run-delivery tr[data-destination="file"]', 'data-status')).toBe('delivered');
  expect(await page.getAttribute('#run-delivery tr[data-destination="webhook"]', 'data-status')).toBe('failed');
  expect(await page.textContent('#run-delivery tr[data-destination="webhook"]')).toMatch(/HTTP 400/);
  expect(await page.textContent('#delivery-warning')).toContain(done.delivery.warning);
  expect(await page.textContent('#run-status-line')).toBe('done, with a delivery warning');
  const href = await page.getAttribute('#artifacts a[download="report.md"]', 'href');
  const file = await page.request.get(`${api.web.url}${href}`);
  expect(file.status()).toBe(200);
  expect(await file.text()).toContain('Deliver the weekly numbers');
  // The activity stream can show delivery events alone.
  await page.goto(`${api.web.url}/#/`);
  await page.selectOption('#activity-kind', 'delivery');
  await until(() => page.locator('#events li[data-event-type="delivery.warning"]').count(), (n) => n >= 1, 15_000, 'delivery warning in the activity');
});

test('When a robot has the Robot Host, then Assign task offers the host conversation first', async () => {
  expect((await call('POST', '/api/robots', { id: 'hosted', name: 'Hosted', role: 'Talks first.', host: { enabled: true } })).status).toBe(201);
  await page.goto(`${api.web.url}/#/robot/hosted`);
  await page.click('#assign-task');
  await page.waitForSelector('#run-dialog[open]');
  expect(await page.isChecked('#opt-host')).toBe(true);
  await page.fill('#task', 'Plan the offsite');
  await page.click('#run-start');
  await page.waitForSelector('#host-panel', { timeout: 15_000 });
  await until(() => page.textContent('#run-status-line'), /host (asks a question|waits for you to confirm)/, 15_000, 'host status line');
});

test('When the session is over, then no request left the machine, nothing was logged as an error, and the CSP was never violated', () => {
  expect(rec.foreignRequests).toEqual([]);
  expect(rec.consoleErrors.filter((e) => !/Failed to load resource.*(400|404|409)/.test(e))).toEqual([]);
  expect(rec.cspViolations).toEqual([]);
});
