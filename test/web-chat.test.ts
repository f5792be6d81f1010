/**
 * A robot's chat platforms on the page, in headless Chromium under a strict CSP: Slack connected from the robot's
 * Integrations section (first with a bot token Slack refuses: the failed check and the conversation's last error
 * are shown; then reconnected), its inbound URL taken from the page and a message signed as Slack signs it sent
 * there, the status following it, Test, saving the editor keeping the connection, and Disconnect after a
 * confirmation, after which the inbound URL refuses. Telegram connected from the page sets its webhook to the URL
 * the page shows. The secrets typed into the page never come back to it. Slack and Telegram are the local fakes of
 * test/helpers/fake-chat.ts, reached by the worker through the real clients.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { slackHeaders, startFakeChat, type FakeChat } from './helpers/fake-chat';
import { apiClient, runWaiter } from './helpers/http';
import { launch, newRecorder, openContext, pageViolations, screenshot, seriousA11yViolations, until } from './helpers/browser';

const PASSWORD = 'chat page password';
const KEY = 'chat-page-key';
const ROBOT = 'chat-desk';
const SECRETS = {
  slack: 'xoxb-canary-page-slack-token-a1b2',
  slackWrong: 'xoxb-canary-page-wrong-token-c3d4',
  signing: 'canary-page-slack-signing-e5f6',
  telegram: '987654:canary-page-telegram-token-g7h8',
};

let env: TestWorkflowEnvironment;
let api: TestApi;
let fake: FakeChat;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const rec = newRecorder();
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  [env, fake] = await Promise.all([
    createTestEnv(),
    startFakeChat({
      telegram: SECRETS.telegram,
      slack: SECRETS.slack,
      discord: 'unused-discord-token',
      lark: { appId: 'cli_unused', appSecret: 'unused' },
      dingtalk: { appKey: 'unused', appSecret: 'unused' },
    }),
  ]);
  api = await startTestApi(env, {
    MC_ADMIN_PASSWORD: PASSWORD,
    MC_API_KEYS: KEY,
    MC_SECRET_KEY: 'chat-page-secret-key',
    MC_TELEGRAM_API_URL: fake.telegramApiUrl,
    MC_SLACK_API_URL: fake.slackApiUrl,
  });
  expect((await call('POST', '/api/robots', { id: ROBOT, name: 'Chat desk', role: 'Answers the team in chat.' })).status).toBe(201);
  browser = await launch();
  context = await openContext(browser, api.web.url, rec, { width: 1440, height: 900, password: PASSWORD });
  page = await context.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await fake?.close();
  await env?.teardown();
});

/** The element's text as it is now (undefined when it is not there), without waiting for it. */
const textNow = (sel: string) => page.evaluate(`document.querySelector(${JSON.stringify(sel)})?.textContent`) as Promise<string | undefined>;

const slack = (sel = '') => `#chat-slack${sel ? ` ${sel}` : ''}`;

/** Secrets typed into the page are nowhere in it: not in the markup, not in any field's value. */
async function expectNoSecretInPage(): Promise<void> {
  const html = await page.content();
  const values = (await page.evaluate('[...document.querySelectorAll("input, textarea")].map((e) => e.value).join("\\n")')) as string;
  for (const [name, secret] of Object.entries(SECRETS)) {
    expect(`${name} in markup: ${html.includes(secret)}`).toBe(`${name} in markup: false`);
    expect(`${name} in a field: ${values.includes(secret)}`).toBe(`${name} in a field: false`);
  }
}

/** A message signed as Slack signs it, sent to the inbound URL the page shows. */
async function sendSlack(url: string, eventId: string, ts: string, text: string): Promise<number> {
  const body = JSON.stringify({ type: 'event_callback', event_id: eventId, event: { type: 'app_mention', user: 'U100', text: `<@UROBOT> ${text}`, channel: 'C900', ts } });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...slackHeaders(body, SECRETS.signing) }, body });
  return res.status;
}

async function fillConnect(fields: Record<string, string>): Promise<void> {
  await page.waitForSelector('#integration-dialog[open]');
  for (const [key, value] of Object.entries(fields)) await page.fill(`#integration-${key}`, value);
  await page.click('#integration-save');
  await page.waitForSelector('#integration-dialog:not([open])', { state: 'attached', timeout: 30_000 });
}

test('When Slack is connected from the robot\'s Integrations section, then the page shows its status, inbound URL, last event and last error, Test asks Slack, saving the robot keeps it, and Disconnect (after a confirmation) makes the inbound URL refuse; no secret comes back to the page', async () => {
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.click('#tab-integrations');
  await page.waitForSelector(slack('[data-field="status"]'));
  // Every platform the API offers, none connected yet, each with the URL to paste.
  expect(await page.locator('#chat-integrations .chat-platform').evaluateAll((s) => s.map((x) => `${x.getAttribute('data-platform')}:${x.getAttribute('data-state')}`))).toEqual([
    'telegram:off',
    'slack:off',
    'discord:off',
    'lark:off',
    'dingtalk:off',
  ]);
  expect(await page.textContent(slack('[data-field="status"]'))).toBe('Not connected');
  const inbound = await page.inputValue(slack('[data-field="inbound-url"]'));
  expect(inbound).toBe(`${api.web.url}/chat/slack/${ROBOT}`);

  // Connected with a bot token Slack refuses: connected (the secrets are stored), but the check says why it fails.
  await page.click(slack('[data-action="connect"]'));
  expect(await page.getAttribute('#integration-botToken', 'type')).toBe('password');
  expect(await page.getAttribute('#integration-signingSecret', 'type')).toBe('password');
  await fillConnect({ botToken: SECRETS.slackWrong, signingSecret: SECRETS.signing, approvers: 'UAPPROVER' });
  await until(() => page.getAttribute(slack(), 'data-state'), 'connected', 15_000, 'slack state');
  expect(await page.textContent(slack('[data-field="note"]'))).toMatch(/check with Slack failed: .*invalid_auth/);
  expect(await page.locator('#integration-fields [data-key]').count()).toBe(0);
  await expectNoSecretInPage();

  // A message to the inbound URL the page shows: the conversation cannot answer with that token — the last error.
  expect(await sendSlack(inbound, 'EvPage1', '1700000900.000100', 'Summarise the release notes for the team')).toBe(200);
  await until(
    async () => {
      await page.click('#chat-refresh');
      await page.waitForTimeout(300);
      return textNow(slack('[data-field="last-error"]'));
    },
    /invalid_auth/,
    30_000,
    'last error',
  );
  expect(await page.textContent(slack('[data-field="last-event"]'))).toMatch(/\(message\)/);

  // Reconnected with the right token: the settings come back into the form, the secrets do not.
  await page.click(slack('[data-action="connect"]'));
  await page.waitForSelector('#integration-dialog[open]');
  expect(await page.inputValue('#integration-approvers')).toBe('UAPPROVER');
  expect(await page.inputValue('#integration-botToken')).toBe('');
  await fillConnect({ botToken: SECRETS.slack, signingSecret: SECRETS.signing });
  await until(() => page.textContent(slack('[data-field="note"]')), /^Connected: /, 15_000, 'connect note');
  expect(fake.of('slack', 'auth.test').length).toBeGreaterThan(0);

  // A message now starts a run and gets its answer; the status shows the conversation.
  expect(await sendSlack(inbound, 'EvPage2', '1700000901.000100', 'Draft the agenda of the weekly sync')).toBe(200);
  await waitFor(`run-chat-${ROBOT}-slack-slack-C900-1700000901.000100`, (r) => r.status === 'Done', 60_000);
  await until(
    async () => {
      await page.click('#chat-refresh');
      await page.waitForTimeout(300);
      return textNow(slack('[data-field="conversations"]'));
    },
    /Conversations: [1-9]/,
    15_000,
    'conversations',
  );

  // Test: a worker asks Slack who the bot is.
  await page.click(slack('[data-action="test"]'));
  await until(() => page.textContent(slack('[data-field="note"]')), /^Test passed: /, 30_000, 'test note');

  // The section passes the accessibility scan, and is what the README shows.
  expect(await seriousA11yViolations(page)).toEqual([]);
  await page.waitForSelector('#toast:not(.show)', { state: 'attached', timeout: 10_000 });
  await page.locator('#chat-integrations').scrollIntoViewIfNeeded();
  await screenshot(page, 'robot-integrations.png');

  // Saving other fields of the robot keeps the connection (the editor's copy follows the chat panel).
  await page.click('#tab-basic');
  await page.fill('#robot-form [data-path="name"]', 'Chat desk (renamed)');
  await page.click('#robot-save');
  await until(async () => (await call('GET', `/api/robots/${ROBOT}`)).json.name, 'Chat desk (renamed)', 15_000, 'saved name');
  expect((await call('GET', `/api/robots/${ROBOT}/integrations`)).json.integrations.map((i: { platform: string }) => i.platform)).toEqual(['slack']);

  // Disconnect asks first; keeping it changes nothing.
  await page.click('#tab-integrations');
  await page.click(slack('[data-action="disconnect"]'));
  await page.waitForSelector('#confirm-dialog[open]');
  expect(await page.textContent('#confirm-title')).toBe('Disconnect Slack?');
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
  expect((await call('GET', `/api/robots/${ROBOT}/integrations`)).json.integrations).toHaveLength(1);
  await page.click(slack('[data-action="disconnect"]'));
  await page.click('#confirm-ok');
  await until(() => page.getAttribute(slack(), 'data-state'), 'off', 15_000, 'slack state');
  expect(await page.textContent(slack('[data-field="note"]'))).toMatch(/^Disconnected/);
  expect((await call('GET', `/api/robots/${ROBOT}/integrations`)).json.integrations).toEqual([]);
  // The inbound URL now answers as for a robot without the integration, and nothing starts.
  expect(await sendSlack(inbound, 'EvPage3', '1700000902.000100', 'Anything after the disconnect')).toBe(401);
  await page.waitForTimeout(300);
  expect((await call('GET', `/api/runs/run-chat-${ROBOT}-slack-slack-C900-1700000902.000100`)).status).toBe(404);
  expect((await call('GET', '/api/credentials')).json.credentials.filter((c: { name: string }) => c.name.startsWith(`${ROBOT}-slack-`))).toEqual([]);
  await expectNoSecretInPage();
  for (const secret of Object.values(SECRETS)) expect((await call('GET', `/api/robots/${ROBOT}`)).text).not.toContain(secret);
  expect(await pageViolations(page)).toEqual([]);
}, 240_000);

test('When Telegram is connected from the page, then its webhook is set to the inbound URL the page shows; a missing field is named at the field; disconnecting removes the webhook', async () => {
  await page.goto(`${api.web.url}/#/robot/${ROBOT}`);
  await page.click('#tab-integrations');
  const url = await (await page.waitForSelector('#chat-telegram [data-field="inbound-url"]')).inputValue();
  await page.click('#chat-telegram [data-action="connect"]');
  await page.waitForSelector('#integration-dialog[open]');
  // Sent without the bot token: the API's 400 is shown at its field, and nothing is connected.
  await page.click('#integration-save');
  await page.waitForSelector('#integration-dialog [data-field="botToken"] .field-error:not([hidden])');
  expect(await page.getAttribute('#integration-botToken', 'aria-invalid')).toBe('true');
  expect((await call('GET', `/api/robots/${ROBOT}/integrations`)).json.integrations).toEqual([]);
  await fillConnect({ botToken: SECRETS.telegram, users: 'U1\nU2' });
  await until(() => page.getAttribute('#chat-telegram', 'data-state'), 'connected', 15_000, 'telegram state');
  expect(fake.of('telegram', 'setWebhook').at(-1)!.body.url).toBe(url);
  expect(await page.textContent('#chat-telegram')).toContain('Users: U1, U2');
  await expectNoSecretInPage();

  await page.click('#chat-telegram [data-action="disconnect"]');
  await page.click('#confirm-ok');
  await until(() => page.getAttribute('#chat-telegram', 'data-state'), 'off', 15_000, 'telegram state');
  expect(fake.of('telegram', 'deleteWebhook')).toHaveLength(1);
}, 120_000);

test('When the session is over, then no request left the machine, nothing was logged as an error, and the CSP was never violated', () => {
  expect(rec.foreignRequests).toEqual([]);
  expect(rec.consoleErrors.filter((e) => !/Failed to load resource.*(400|404|409)/.test(e))).toEqual([]);
  expect(rec.cspViolations).toEqual([]);
});
