/**
 * The page in headless Chromium (Debian's package, driven by playwright-core), under a strict CSP: the password
 * gate; a run started from the page and followed on its own page (stage timeline, the task graph drawn as SVG with
 * a node's details, the result rendered as Markdown); cancelling and rejecting only after a confirmation; the
 * Robot Host; a gate's work shown readable with the raw JSON one click away; a command task on a chosen desktop
 * that waits for approval; the activity stream filled on open; the board's paged closed columns, search and
 * keyboard; at 390 and 1440 px in light and dark, no horizontal overflow and no serious accessibility violation;
 * screenshots for the README; and no request leaving the machine, no console error, no CSP violation.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createDesktopWorker } from '../workers/desktop';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';
import { apiClient, runWaiter } from './helpers/http';
import { launch, newRecorder, openContext, overflow, pageViolations, screenshot, seriousA11yViolations, until } from './helpers/browser';

const PASSWORD = 'correct horse battery staple';
const KEY = 'web-test-key';
const LONG_WORD = 'x'.repeat(400);

let env: TestWorkflowEnvironment;
let api: TestApi;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let desktop: Worker;
let desktopDone: Promise<void>;
const desktopQueue = `desk-web-${Date.now()}`;
const rec = newRecorder();
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_ADMIN_PASSWORD: PASSWORD, MC_API_KEYS: KEY, MC_OFFLINE_DELAY_MS: '150' });
  desktop = await createDesktopWorker({ connection: env.nativeConnection, config: api.config, queue: desktopQueue });
  desktopDone = desktop.run();
  browser = await launch();
  context = await openContext(browser, api.web.url, rec, { width: 1440, height: 900 });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  if (desktop?.getState() === 'RUNNING') desktop.shutdown();
  await desktopDone;
  await api?.stop();
  await env?.teardown();
});

/** Open the board (signed in) and wait for the live connection. */
async function board(p: Page = page) {
  await p.goto(`${api.web.url}/#/`);
  await p.waitForSelector('#board .column[data-status="Done"]');
  await p.waitForSelector('#live.on');
}

async function startFromDialog(task: string, opts: { review?: boolean; host?: boolean } = {}): Promise<string> {
  await page.click('#new-run-button');
  await page.check('#run-form input[name=kind][value=task]');
  await page.fill('#task', task);
  if (opts.review) await page.check('#opt-review');
  if (opts.host) await page.check('#opt-host');
  await page.click('#run-start');
  await page.waitForURL(/#\/run\//);
  const id = decodeURIComponent(new URL(page.url()).hash.replace('#/run/', ''));
  return id;
}

test('When the page is opened without a session, then it asks for the password and refuses a wrong one', async () => {
  await page.goto(api.web.url);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('#password', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  expect(await page.evaluate(async () => (await fetch('/api/runs')).status)).toBe(401);
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('#board');
});

test('When a user starts a task from the page, then its page follows it to Done: five stages on a timeline, the graph drawn with one element per task and dependency, a task\'s details on click, the result as Markdown', async () => {
  await board();
  expect(await page.textContent('#model')).toMatch(/Offline model/);
  const id = await startFromDialog('Summarise why durable execution matters');
  expect(id).toMatch(/^run-[0-9a-f-]{36}$/);
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
  expect(await page.textContent('#run-detail [data-run-id]')).toBe(id);

  const stages = await page.$$eval('#run-timeline li[data-stage]', (rows) => rows.map((r) => [r.getAttribute('data-stage'), r.querySelector('.stage-status')!.textContent]));
  expect(stages).toEqual([['inspiration', 'done'], ['goals', 'done'], ['tasks', 'done'], ['validation', 'done'], ['delivery', 'done']]);

  const state = await waitFor(id, (r) => r.status === 'Done');
  const nodes = state.dag.nodes as { id: string; dependsOn: string[]; output: string }[];
  expect(nodes.length).toBeGreaterThanOrEqual(2);
  expect(await page.locator('#run-graph svg.graph g.node').count()).toBe(nodes.length);
  expect(await page.locator('#run-graph svg.graph path.edge').count()).toBe(nodes.reduce((n, x) => n + x.dependsOn.length, 0));
  expect(await page.locator('#run-graph svg.graph g.node.status-done').count()).toBe(nodes.length);

  const target = nodes[0];
  await page.click(`#run-graph g.node[data-node="${target.id}"]`);
  await page.waitForSelector(`#node-detail[data-node="${target.id}"]`);
  const detail = await page.textContent('#node-detail');
  expect(detail).toContain(target.output.slice(0, 40));
  expect(detail).toMatch(/Why this model/);
  // By keyboard too: Enter on another node shows that one.
  const other = nodes[1];
  await page.focus(`#run-graph g.node[data-node="${other.id}"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#node-detail[data-node="${other.id}"]`);

  // The delivered report is Markdown, rendered: a heading, not "# ..." text.
  expect(await page.locator('#run-result .markdown h1').count()).toBe(1);
  expect(await page.textContent('#run-result .markdown h1')).toContain('Summarise why durable execution matters');
  expect(await page.textContent('#run-result')).not.toContain('# Summarise');

  await board();
  const card = page.locator(`#board .column[data-status="Done"] .card[data-run-id="${id}"]`);
  await card.waitFor();
  expect(await card.locator('.id').textContent()).toBe(id);
  expect(await card.locator('.status-line').textContent()).toBe('done');
  expect(await card.locator('.meta').textContent()).toMatch(/tok/);
});

test('When a user cancels a run, then the page asks first: keeping it changes nothing, confirming cancels it', async () => {
  // A run that lasts: one task of the graph takes a minute on the offline model.
  const { json } = await call('POST', '/api/runs', {
    task: 'A long job to cancel from the page',
    dag: [{ id: 'slow', title: 'A slow step', kind: 'text', instructions: 'Take your time', expectedOutput: 'Anything', simulatedLatencyMs: 60_000 }],
  });
  const id = json.id;
  await page.goto(`${api.web.url}/#/run/${id}`);
  await page.waitForSelector('#cancel-run');
  await page.click('#cancel-run');
  await page.waitForSelector('#confirm-dialog[open]');
  expect(await page.textContent('#confirm-title')).toBe('Cancel this run?');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
  expect((await call('GET', `/api/runs/${id}`)).json.status).not.toBe('Cancelled');
  await page.click('#cancel-run');
  await page.click('#confirm-ok');
  await page.waitForSelector('#run-detail [data-run-status="Cancelled"]', { timeout: 15_000 });
  expect(await page.textContent('#run-detail')).toMatch(/cancelled during/i);
});

test('When a run waits at the delivery gate, then the reviewer sees the draft rendered with the raw JSON one click away, and a reject asks first and records the reason', async () => {
  const started = await call('POST', '/api/runs', { task: 'Write the quarterly update for the board', approvals: { gates: [{ at: 'delivery' }] } });
  const id = started.json.id;
  await waitFor(id, (r) => r.status === 'Review');
  await board();
  const card = page.locator(`.card[data-run-id="${id}"]`);
  await card.waitFor();
  expect(await card.locator('.status-line').textContent()).toBe('waiting at the delivery gate');
  await card.locator('a.task').click();
  await page.waitForSelector('#gate-panel[data-gate="delivery"]');
  // The draft, readable: rendered Markdown, not JSON.
  expect(await page.textContent('#gate-subject h4')).toBe('The draft to be formatted and delivered');
  expect(await page.locator('#gate-subject .markdown').count()).toBeGreaterThanOrEqual(1);
  expect(await page.isVisible('#gate-subject details.raw pre')).toBe(false);
  await screenshot(page, 'gate.png');
  await page.click('#gate-subject details.raw summary');
  expect(JSON.parse((await page.textContent('#gate-subject details.raw pre'))!)).toHaveProperty('tasks');

  await page.click('#gate-reject');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.fill('#confirm-reason', 'Not what we need');
  await page.click('#confirm-ok');
  await page.waitForSelector('#run-detail [data-run-status="Failed"]', { timeout: 15_000 });
  expect(await page.textContent('#run-detail')).toContain('Not what we need');
});

test('When a user asks for the Robot Host, then the page carries the conversation and the card says the host asks a question', async () => {
  await board();
  const id = await startFromDialog('Plan a launch', { host: true });
  await page.waitForSelector('#host-panel #host-message', { timeout: 15_000 });
  expect(await page.textContent('#run-status-line')).toBe('host asks a question');
  await board();
  await until(() => page.locator(`.card[data-run-id="${id}"] .status-line`).textContent(), 'host asks a question', 15_000, 'card status line');
  await page.click(`.card[data-run-id="${id}"] a.task`);
  await page.waitForSelector('#host-panel #host-message');
  await page.fill('#host-message', 'For the mobile app, in March');
  await page.click('#host-send');
  await page.waitForSelector('#host-confirm', { timeout: 15_000 });
  expect(await page.textContent('#host-panel')).toContain('mobile app');
  await page.click('#host-confirm');
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
});

test('When a compound goal is started from the page, then it runs as a compound run and is planned as a graph', async () => {
  await board();
  await page.click('#new-run-button');
  await page.check('#run-form input[name=kind][value=compound]');
  expect(await page.textContent('#task-label')).toMatch(/Goal/);
  await page.fill('#task', 'Launch the spring campaign: research, plan and write the announcement');
  await page.click('#run-start');
  await page.waitForURL(/#\/run\//);
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
  expect(await page.textContent('#run-head')).toMatch(/Triggercompound/);
  expect(await page.locator('#run-graph svg.graph g.node').count()).toBeGreaterThanOrEqual(2);
});

test('When a command task is started on a chosen desktop, then it waits for approval, and once approved it runs there', async () => {
  await board();
  // The desktop is in the fleet (its own heartbeats) and offered by the form.
  await until(() => page.locator(`#overview .worker [data-desktop~="${desktopQueue}"]`).count(), 1, 30_000, 'the desktop in the overview');
  await page.click('#new-run-button');
  await page.check('#run-form input[name=kind][value=command]');
  await until(() => page.locator(`#run-desktop option[value="${desktopQueue}"]`).count(), 1, 15_000, 'desktop offered');
  await page.selectOption('#run-desktop', desktopQueue);
  await page.fill('#run-command', 'echo "hello from the desktop"');
  await page.click('#run-start');
  await page.waitForURL(/#\/run\//);
  await page.waitForSelector('#run-detail [data-run-status="Review"]', { timeout: 30_000 });
  expect(await page.textContent('#run-status-line')).toBe(`a command waits for approval on ${desktopQueue}`);
  await page.click('#run-graph g.node[data-node="command"]');
  await page.waitForSelector('#node-detail .node-approve');
  await page.click('#node-detail .node-approve');
  await page.waitForSelector('#run-detail [data-run-status="Done"]', { timeout: 30_000 });
  // The task stays selected: its details now carry the command's output and where it ran.
  await until(() => page.textContent('#node-detail'), /hello from the desktop/, 10_000, 'the command output');
  expect(await page.textContent('#node-detail')).toContain(desktopQueue);
});

test('When the page opens, then the activity stream is already filled from history, names each run\'s task and robot, filters, and an entry opens its run', async () => {
  const fresh = await context.newPage();
  await board(fresh);
  await fresh.waitForSelector('#events li');
  const first = fresh.locator('#events li').first();
  expect(await first.locator('.robot').textContent()).toBeTruthy();
  expect(await first.locator('.task').textContent()).toBeTruthy();
  await fresh.selectOption('#activity-kind', 'stage');
  await until(() => fresh.locator('#events li').first().getAttribute('data-event-type'), /^stage\./, 15_000, 'first entry kind');
  expect(await fresh.$$eval('#events li', (lis) => lis.every((li) => li.getAttribute('data-event-type')!.startsWith('stage.')))).toBe(true);
  const runId = await fresh.locator('#events li').first().getAttribute('data-run-id');
  await fresh.locator('#events li a').first().click();
  await fresh.waitForSelector(`#run-detail[data-run-id="${runId}"]`);
  expect(decodeURIComponent(new URL(fresh.url()).hash)).toBe(`#/run/${runId}`);
  await fresh.close();
});

test('When there are many finished runs, then the Done column pages through them, search finds a run by task, robot or id, and arrow keys move between cards', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 22; i++) ids.push((await call('POST', '/api/runs', { task: `Batch item ${String(i).padStart(2, '0')}` })).json.id);
  // And one in a column to the right of Done.
  const cancelled = (await call('POST', '/api/runs', { task: 'Cancelled at once' })).json.id;
  await call('POST', `/api/runs/${cancelled}/cancel`);
  await eventually(async () => (await call('GET', '/api/runs?status=Done&limit=1000')).json.runs.filter((r: { id: string }) => ids.includes(r.id)).length === ids.length, 90_000, 500);
  await board();
  const done = page.locator('#board .column[data-status="Done"]');
  await until(() => done.locator('.card').count(), 20, 15_000, 'Done cards');
  await done.locator('button[data-more="Done"]').click();
  await until(() => done.locator('.card').count(), (n) => n > 20, 15_000, 'Done cards after paging');
  const shown = await done.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-run-id')));
  expect(new Set(shown).size).toBe(shown.length);

  await page.fill('#board-search', 'Batch item 07');
  await until(() => page.locator('#board .card').count(), 1, 5000, 'cards matching the task');
  await page.fill('#board-search', ids[3]);
  await until(() => page.locator('#board .card').count(), 1, 5000, 'cards matching the id');
  expect(await page.locator('#board .card').getAttribute('data-run-id')).toBe(ids[3]);
  await page.fill('#board-search', '');

  const links = done.locator('a.task');
  await links.nth(0).focus();
  await page.keyboard.press('ArrowDown');
  expect(await page.evaluate(`document.activeElement?.closest('.card')?.getAttribute('data-run-id')`)).toBe(await done.locator('.card').nth(1).getAttribute('data-run-id'));
  await page.keyboard.press('ArrowRight');
  expect(await page.evaluate(`document.activeElement?.closest('.column')?.getAttribute('data-status')`)).toMatch(/Failed|Cancelled/);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#run-detail');
});

describe('at 390 px and 1440 px, in light and dark', () => {
  let runId: string;
  let shotRunId: string;
  let robotId: string;
  beforeAll(async () => {
    robotId = 'layout-robot';
    await call('POST', '/api/robots', { id: robotId, name: 'Layout robot', role: 'Writes things for the layout test.', workMode: 'autonomous', schedule: { every: '1h' }, webhook: { enabled: true } });
    const node = (id: string, title: string, kind: string, dependsOn: string[] = []) => ({ id, title, kind, dependsOn, instructions: `${title}.`, expectedOutput: `${title}: done well.` });
    runId = (
      await call('POST', '/api/runs', {
        task: `A market report, with one unbroken word: ${LONG_WORD}`,
        robotId,
        dag: [
          node('collect', 'Collect the notes', 'extract'),
          node('market', 'Size the market', 'text', ['collect']),
          node('rivals', 'Compare the rivals', 'text', ['collect']),
          node('risks', 'List the risks', 'text', ['collect']),
          node('draft', 'Draft the report', 'synthesize', ['market', 'rivals', 'risks']),
          node('summary', 'Write the summary', 'text', ['draft']),
        ],
      })
    ).json.id;
    await waitFor(runId, (r) => r.status === 'Done', 60_000);
    // The same graph on an ordinary task for the screenshot, and a run left waiting at its final gate (board).
    shotRunId = (await call('POST', '/api/runs', { task: 'Market report on e-bikes in the Nordics', robotId, dag: (await call('GET', `/api/runs/${runId}`)).json.dag.nodes.map((n: Record<string, unknown>) => ({ id: n.id, title: n.title, kind: n.kind, dependsOn: n.dependsOn, instructions: n.instructions, expectedOutput: n.expectedOutput })) })).json.id;
    const review = (await call('POST', '/api/runs', { task: 'Draft the launch announcement', approvals: { gates: [{ at: 'final' }] } })).json.id;
    await waitFor(shotRunId, (r) => r.status === 'Done', 60_000);
    await waitFor(review, (r) => r.status === 'Review', 60_000);
  });

  for (const [width, height] of [[390, 844], [1440, 900]] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      test(`When the board, a run page and a robot page are shown at ${width}x${height} in ${scheme}, then nothing overflows sideways and axe finds no serious or critical violation`, async () => {
        const ctx = await openContext(browser, api.web.url, rec, { width, height, colorScheme: scheme, password: PASSWORD });
        const p = await ctx.newPage();
        for (const [name, hash, ready] of [
          ['board', '#/', `#board .card[data-run-id="${runId}"]`],
          ['run', `#/run/${runId}`, '#run-graph svg.graph g.node[data-node="summary"]'],
          ['robot', `#/robot/${robotId}`, '#robot-form'],
        ] as const) {
          await p.goto(`${api.web.url}/${hash}`);
          await p.waitForSelector(ready, { timeout: 20_000 });
          await p.waitForTimeout(300);
          const o = await overflow(p);
          expect([name, o.scrollWidth <= o.innerWidth, o]).toEqual([name, true, o]);
          expect([name, await seriousA11yViolations(p)]).toEqual([name, []]);
          expect([name, await pageViolations(p)]).toEqual([name, []]);
          if (name === 'board' && width === 390 && scheme === 'dark') await screenshot(p, 'phone-board.png');
          if (name === 'board' && width === 1440 && scheme === 'dark') await screenshot(p, 'board.png');
          if (name === 'run' && width === 1440 && scheme === 'dark') {
            await p.goto(`${api.web.url}/#/run/${shotRunId}`);
            await p.click('#run-graph g.node[data-node="draft"]');
            await p.waitForSelector('#node-detail[data-node="draft"] .node-output');
            expect(await seriousA11yViolations(p)).toEqual([]);
            await p.setViewportSize({ width: 1440, height: 1500 });
            await p.evaluate('window.scrollTo(0, 0)');
            await screenshot(p, 'run-graph.png');
            await p.setViewportSize({ width, height });
          }
        }
        await ctx.close();
      });
    }
  }
});

describe('at the end', () => {
  test('When the whole session is over, then no request left the machine, nothing was logged as an error, and the CSP was never violated', () => {
    expect(rec.foreignRequests).toEqual([]);
    expect(rec.consoleErrors.filter((e) => !/401|Failed to load resource.*(409|404)/.test(e))).toEqual([]);
    expect(rec.cspViolations).toEqual([]);
  });
});
