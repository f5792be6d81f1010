/**
 * Chatting with robots from Telegram, Slack, Discord, Lark and DingTalk, end to end: robots connected over the API
 * (their secrets stored as encrypted credentials), requests signed exactly as each platform signs them sent to the
 * API on port 0, a real worker on a real Temporal dev server, and a local fake of each platform's API reached
 * through the real clients (grammY, @slack/web-api, @discordjs/rest, the Lark SDK, DingTalk's OpenAPI SDK).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chatConversationQuery } from '../contracts/messages';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv, eventually } from '../testkit/temporal';
import { conversationIdOf } from '../api/use-cases/receive-chat';
import { dingtalkHeaders, discordKeys, larkRequest, slackHeaders, startFakeChat, type FakeChat } from './helpers/fake-chat';
import { apiClient, readBody, runWaiter } from './helpers/http';
import { openSse, type SseClient } from './helpers/sse';

const KEY = 'chat-test-key';
/** Every secret of this test: none may show outside the worker's memory, the API's and the fake platforms. */
const CANARY = {
  telegram: '123456:canary-telegram-bot-token-aa11',
  slack: 'xoxb-canary-slack-bot-token-bb22',
  slackSigning: 'canary-slack-signing-secret-cc33',
  discord: 'canary-discord-bot-token-dd44',
  larkSecret: 'canary-lark-app-secret-ee55',
  larkToken: 'canary-lark-verification-token-ff66',
  larkEncrypt: 'canary-lark-encrypt-key-0077',
  dingSecret: 'canary-dingtalk-app-secret-1188',
};
const discord = discordKeys();

let env: TestWorkflowEnvironment;
let api: TestApi;
let fake: FakeChat;
/** The event stream, open for the whole file (the canary reads what it carried). */
let sse: SseClient;
const logs: string[] = [];
const restoreWrites: (() => void)[] = [];
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);
/** Telegram's webhook secret token: generated when connecting, learnt here as Telegram learns it (setWebhook). */
const telegramSecrets: Record<string, string> = {};

function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      logs.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restoreWrites.push(() => (stream.write = original as typeof stream.write));
  }
}

const CONNECT = {
  telegram: (approvers: string[] = []) => ({ botToken: CANARY.telegram, approvers }),
  slack: (approvers: string[] = []) => ({ botToken: CANARY.slack, signingSecret: CANARY.slackSigning, approvers }),
  discord: (approvers: string[] = []) => ({ botToken: CANARY.discord, applicationId: '5550001', publicKey: discord.publicKey, approvers }),
  lark: (approvers: string[] = []) => ({ appId: 'cli_test', appSecret: CANARY.larkSecret, verificationToken: CANARY.larkToken, encryptKey: CANARY.larkEncrypt, approvers }),
  dingtalk: () => ({ appKey: 'ding-app-key', appSecret: CANARY.dingSecret }),
};

async function createRobot(id: string, fields: Record<string, unknown>, platforms: Partial<Record<keyof typeof CONNECT, string[]>>): Promise<void> {
  const created = await call('POST', '/api/robots', { id, name: `Robot ${id}`, role: 'Answers questions from the team in chat.', ...fields });
  expect(created.status).toBe(201);
  for (const [platform, approvers] of Object.entries(platforms)) {
    const r = await call('PUT', `/api/robots/${id}/integrations/${platform}`, CONNECT[platform as keyof typeof CONNECT](approvers));
    expect(`${platform} ${r.status} ${r.text}`).toMatch(new RegExp(`^${platform} 200 `));
    expect(r.json.check).toMatchObject({ ok: true });
    if (platform === 'telegram') {
      const set = fake.of('telegram', 'setWebhook').at(-1)!;
      expect(set.body.url).toBe(`${api.web.url}/chat/telegram/${id}`);
      telegramSecrets[id] = set.body.secret_token;
    }
  }
}

beforeAll(async () => {
  captureOutput();
  [env, fake] = await Promise.all([
    createTestEnv(),
    startFakeChat({
      telegram: CANARY.telegram,
      slack: CANARY.slack,
      discord: CANARY.discord,
      lark: { appId: 'cli_test', appSecret: CANARY.larkSecret },
      dingtalk: { appKey: 'ding-app-key', appSecret: CANARY.dingSecret },
    }),
  ]);
  api = await startTestApi(env, {
    MC_API_KEYS: KEY,
    MC_SECRET_KEY: 'chat-test-secret-key',
    MC_TELEGRAM_API_URL: fake.telegramApiUrl,
    MC_SLACK_API_URL: fake.slackApiUrl,
    MC_DISCORD_API_URL: fake.discordApiUrl,
    MC_LARK_API_URL: fake.larkApiUrl,
    MC_DINGTALK_API_URL: fake.dingtalkApiUrl,
  });
  sse = await openSse(`${api.web.url}/api/events`, { authorization: `Bearer ${KEY}` });
  await createRobot('chatbot', {}, { telegram: [], slack: [], discord: [], lark: [], dingtalk: [] });
  await createRobot('gated', { approvals: { gates: [{ at: 'final' }] } }, { telegram: ['111'], slack: ['UAPPROVER'] });
  await createRobot('hosted', { host: { enabled: true } }, { telegram: [] });
  await createRobot('gated-cards', { approvals: { gates: [{ at: 'final' }] } }, { discord: ['5550555'], lark: ['ou_approver'] });
}, 120_000);

afterAll(async () => {
  sse?.close();
  await api?.stop();
  await fake?.close();
  await env?.teardown();
  for (const r of restoreWrites) r();
});

/** The last error of every conversation (for a failing test's message). */
async function conversationErrors(): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'chatConversationWorkflow'` })) {
    const s = await env.client.workflow.getHandle(wf.workflowId).query(chatConversationQuery).catch(() => undefined);
    if (s) out.push({ id: wf.workflowId, lastError: s.lastError, counts: s.counts, runs: s.runs.map((r) => [r.runId, r.status, r.hostStatus, r.seq]) });
    const h = await env.client.workflow.getHandle(wf.workflowId).fetchHistory();
    out.push((h.events ?? []).map((e) => `${e.eventId}:${Object.keys(e).find((k) => k.endsWith('Attributes'))}${e.activityTaskScheduledEventAttributes ? `(${e.activityTaskScheduledEventAttributes.activityType?.name})` : ''}${e.workflowExecutionSignaledEventAttributes ? `(${JSON.stringify(e.workflowExecutionSignaledEventAttributes.input?.payloads?.[0]?.data ? Buffer.from(e.workflowExecutionSignaledEventAttributes.input.payloads[0].data).toString().slice(0, 80) : '')})` : ''}`).join(' '));
  }
  return out;
}

// ---- each platform's request, as the platform sends it --------------------------------------------------------

let updateId = 1000;
const tgMessage = (chatId: number, from: number, text: string, id = ++updateId) => ({
  update_id: id,
  message: { message_id: id, from: { id: from, is_bot: false, username: `user${from}` }, chat: { id: chatId, type: chatId > 0 ? 'private' : 'group' }, date: 0, text },
});
const tgClick = (chatId: number, from: number, data: string, messageId: number) => ({
  update_id: ++updateId,
  callback_query: { id: `cq-${updateId}`, from: { id: from, is_bot: false, username: `user${from}` }, message: { message_id: messageId, chat: { id: chatId, type: 'private' }, date: 0 }, data },
});

async function post(path: string, body: string, headers: Record<string, string>, type = 'application/json') {
  const res = await fetch(`${api.web.url}${path}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
  return { status: res.status, ...(await readBody(res)) };
}

const sendTelegram = (robot: string, update: unknown, secret = telegramSecrets[robot]) =>
  post(`/chat/telegram/${robot}`, JSON.stringify(update), secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret });

interface Case {
  platform: 'telegram' | 'slack' | 'discord' | 'lark' | 'dingtalk';
  /** A signed request carrying the message `text` as event `id`; `variant` spoils its signature. */
  request(id: string, text: string, variant?: 'missing' | 'wrong' | 'stale'): { body: string; headers: Record<string, string> };
  /** The run the event starts. */
  runId(id: string): string;
  /** What reached the platform's API for the reply with the result (texts, joined). */
  replies(): string;
  /** The reply is in the platform's shape, to the right place. */
  checkShape(): void;
}

const tenMinutesAgo = () => Math.floor(Date.now() / 1000) - 600;

const CASES: Case[] = [
  {
    platform: 'telegram',
    request(id, text, variant) {
      const body = JSON.stringify(tgMessage(777, 555, text, Number(id)));
      const secret = variant === 'missing' ? undefined : variant === 'wrong' ? 'not-the-secret-token' : telegramSecrets.chatbot;
      // Telegram sends no timestamp: a "stale" request is a replay, which the update id catches.
      const headers: Record<string, string> = secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret };
      return { body, headers };
    },
    runId: (id) => `run-chat-chatbot-telegram-tg-${id}`,
    replies: () => fake.of('telegram', 'sendMessage').filter((c) => String(c.body.chat_id) === '777').map((c) => c.body.text).join('\n'),
    checkShape() {
      const edits = fake.of('telegram', 'editMessageText').filter((c) => String(c.body.chat_id) === '777');
      expect(edits.map((c) => c.body.text).join('\n')).toContain('Run 1: Done');
    },
  },
  {
    platform: 'slack',
    request(id, text, variant) {
      const body = JSON.stringify({
        type: 'event_callback',
        event_id: `Ev${id}`,
        event: { type: 'app_mention', user: 'U555', text: `<@UROBOT> ${text}`, channel: 'C777', ts: `1700000000.${id}` },
      });
      const headers = variant === 'missing' ? {} : variant === 'stale' ? slackHeaders(body, CANARY.slackSigning, tenMinutesAgo()) : slackHeaders(body, variant === 'wrong' ? 'another-secret' : CANARY.slackSigning);
      return { body, headers };
    },
    runId: (id) => `run-chat-chatbot-slack-slack-C777-1700000000.${id}`,
    replies: () => fake.of('slack', 'chat.postMessage').filter((c) => c.body.channel === 'C777').map((c) => c.body.text).join('\n'),
    checkShape() {
      const posted = fake.of('slack', 'chat.postMessage').filter((c) => c.body.channel === 'C777');
      // In the thread of the mention.
      expect(posted.every((c) => /^1700000000\.\d+$/.test(c.body.thread_ts))).toBe(true);
      expect(fake.of('slack', 'chat.update').map((c) => c.body.text).join('\n')).toContain('Run 1: Done');
    },
  },
  {
    platform: 'discord',
    request(id, text, variant) {
      const body = JSON.stringify({
        id,
        type: 2,
        application_id: '5550001',
        channel_id: '9770001',
        guild_id: '8880001',
        member: { user: { id: '5550555', username: 'dora' } },
        data: { name: 'ask', options: [{ name: 'text', type: 3, value: text }] },
        token: 'interaction-token',
      });
      const headers =
        variant === 'missing' ? {} : variant === 'stale' ? discord.headers(body, tenMinutesAgo()) : variant === 'wrong' ? { ...discord.headers(body), 'x-signature-ed25519': '00'.repeat(64) } : discord.headers(body);
      return { body, headers };
    },
    runId: (id) => `run-chat-chatbot-discord-discord-${id}`,
    replies: () => fake.of('discord', 'POST /channels/9770001/messages').map((c) => c.body.content).join('\n'),
    checkShape() {
      expect(fake.of('discord', 'POST /channels/9770001/messages')[0].body.allowed_mentions).toEqual({ parse: [] });
      expect(fake.calls.filter((c) => c.platform === 'discord' && c.method.startsWith('PATCH /channels/9770001/messages/')).map((c) => c.body.content).join('\n')).toContain('Run 1: Done');
    },
  },
  {
    platform: 'lark',
    request(id, text, variant) {
      const event = {
        schema: '2.0',
        header: { event_id: `lk${id}`, event_type: 'im.message.receive_v1', token: CANARY.larkToken, create_time: String(Date.now()), app_id: 'cli_test' },
        event: {
          sender: { sender_id: { open_id: 'ou_555' }, sender_type: 'user' },
          message: { message_id: `om_in_${id}`, chat_id: 'oc_777', chat_type: 'group', message_type: 'text', content: JSON.stringify({ text: `@_user_1 ${text}` }) },
        },
      };
      const r = larkRequest(event, CANARY.larkEncrypt, variant === 'stale' ? tenMinutesAgo() : undefined);
      if (variant === 'missing') delete r.headers['x-lark-signature'];
      if (variant === 'wrong') r.headers['x-lark-signature'] = 'f'.repeat(64);
      return r;
    },
    runId: (id) => `run-chat-chatbot-lark-lark-lk${id}`,
    replies: () => fake.of('lark', 'POST /im/v1/messages').filter((c) => c.body.receive_id === 'oc_777').map((c) => JSON.parse(c.body.content).elements[0].text.content).join('\n'),
    checkShape() {
      const first = fake.of('lark', 'POST /im/v1/messages').find((c) => c.body.receive_id === 'oc_777')!;
      expect(first.body.msg_type).toBe('interactive');
      expect(first.headers['content-type']).toContain('json');
      expect(fake.calls.filter((c) => c.platform === 'lark' && c.method.startsWith('PATCH /im/v1/messages/')).length).toBeGreaterThan(0);
    },
  },
  {
    platform: 'dingtalk',
    request(id, text, variant) {
      const body = JSON.stringify({ msgtype: 'text', text: { content: ` ${text}` }, msgId: `msg${id}`, conversationId: 'cid777', conversationType: '2', senderStaffId: 'staff555', senderNick: 'Ding' });
      const headers = variant === 'missing' ? {} : variant === 'stale' ? dingtalkHeaders(CANARY.dingSecret, Date.now() - 2 * 3600_000) : dingtalkHeaders(variant === 'wrong' ? 'another-secret' : CANARY.dingSecret);
      return { body, headers };
    },
    runId: (id) => `run-chat-chatbot-dingtalk-dingtalk-msg${id}`,
    replies: () =>
      fake
        .of('dingtalk', '/v1.0/robot/groupMessages/send')
        .filter((c) => c.body.openConversationId === 'cid777')
        .map((c) => JSON.parse(c.body.msgParam).text)
        .join('\n'),
    checkShape() {
      const sent = fake.of('dingtalk', '/v1.0/robot/groupMessages/send');
      expect(sent[0].body).toMatchObject({ robotCode: 'ding-app-key', msgKey: 'sampleMarkdown', openConversationId: 'cid777' });
      // DingTalk cannot edit: the status is posted once, then the result.
      expect(sent.length).toBeLessThanOrEqual(3);
    },
  },
];

describe.each(CASES)('$platform', (c) => {
  const id = String(2000 + CASES.indexOf(c));
  test('When a correctly signed message arrives, then a run starts, and the result reaches the platform\'s API in its shape', async () => {
    const { body, headers } = c.request(id, 'Summarise the state of our release for the team please');
    const res = await post(`/chat/${c.platform}/chatbot`, body, headers);
    expect(res.status).toBe(200);
    if (c.platform === 'discord') expect(res.json).toMatchObject({ type: 4, data: { content: expect.stringContaining('Summarise the state') } });
    const run = await waitFor(c.runId(id), (r) => r.status === 'Done', 60_000);
    expect(run.trigger).toBe('chat');
    expect(run.task).toBe('Summarise the state of our release for the team please');
    const content: string = run.result.content;
    await eventually(async () => c.replies().includes('Result of run 1'), 30_000).catch(async (err) => {
      throw new Error(`${err.message}; conversations: ${JSON.stringify(await conversationErrors())}; calls: ${JSON.stringify(fake.calls.filter((x) => x.platform === c.platform).map((x) => x.method))}`);
    });
    expect(c.replies()).toContain(content.split('\n').find((l) => l.trim().length > 10)!.trim().slice(0, 60));
    await eventually(async () => {
      c.checkShape();
      return true;
    }, 10_000);
    expect(fake.refused).toEqual([]);
  }, 90_000);

  test('When the same event is delivered twice, then one run is started', async () => {
    const { body, headers } = c.request(id, 'Summarise the state of our release for the team please');
    const again = await post(`/chat/${c.platform}/chatbot`, body, { ...headers, ...(c.platform === 'slack' ? { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } : {}) });
    expect(again.status).toBe(200);
    const runs = (await call('GET', '/api/runs?robotId=chatbot')).json.runs.filter((r: any) => r.id.startsWith(`run-chat-chatbot-${c.platform}-`));
    expect(runs.map((r: any) => r.id)).toEqual([c.runId(id)]);
    // The conversation saw the event twice and counted the second as a duplicate.
    const ids: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'chatConversationWorkflow' AND McRobotId = 'chatbot'` })) ids.push(wf.workflowId);
    const mine = await eventually(async () => {
      const s = (await Promise.all(ids.map((w) => env.client.workflow.getHandle(w).query(chatConversationQuery)))).find((x) => x.platform === c.platform);
      return s && s.counts.duplicates >= 1 ? s : undefined;
    });
    expect(mine.counts.runs).toBe(1);
    expect(mine.seen.filter((e: string) => e.includes(id))).toHaveLength(1);
  }, 60_000);

  test.each(['missing', 'wrong', 'stale'] as const)('When the signature is %s, then the request is refused with 401 and nothing starts', async (variant) => {
    if (c.platform === 'telegram' && variant === 'stale') return; // Telegram has no timestamp; a replay is a duplicate (above)
    const badId = String(3000 + CASES.indexOf(c) * 10 + ['missing', 'wrong', 'stale'].indexOf(variant));
    const { body, headers } = c.request(badId, 'Do something I am not allowed to ask for', variant);
    const res = await post(`/chat/${c.platform}/chatbot`, body, headers);
    expect(res.status).toBe(401);
    expect(res.json.error).toEqual(expect.any(String));
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('GET', `/api/runs/${c.runId(badId)}`)).status).toBe(404);
  });
});

describe('platform handshakes', () => {
  test('When Slack verifies the URL, Discord PINGs and Lark sends its challenge, then each gets the answer it expects; an unknown robot is refused like a bad signature', async () => {
    const slackBody = JSON.stringify({ type: 'url_verification', challenge: 'slack-challenge-1', token: 'x' });
    expect((await post('/chat/slack/chatbot', slackBody, slackHeaders(slackBody, CANARY.slackSigning))).json).toEqual({ challenge: 'slack-challenge-1' });
    const ping = JSON.stringify({ id: '1', type: 1, application_id: '5550001' });
    expect((await post('/chat/discord/chatbot', ping, discord.headers(ping))).json).toEqual({ type: 1 });
    const lark = larkRequest({ type: 'url_verification', challenge: 'lark-challenge-1', token: CANARY.larkToken }, CANARY.larkEncrypt);
    expect((await post('/chat/lark/chatbot', lark.body, lark.headers)).json).toEqual({ challenge: 'lark-challenge-1' });
    const wrongToken = larkRequest({ type: 'url_verification', challenge: 'c', token: 'not-the-token' }, CANARY.larkEncrypt);
    expect((await post('/chat/lark/chatbot', wrongToken.body, wrongToken.headers)).status).toBe(401);
    expect((await post('/chat/slack/nobody-here', slackBody, slackHeaders(slackBody, CANARY.slackSigning))).status).toBe(401);
    expect((await post('/chat/dingtalk/gated', '{}', dingtalkHeaders(CANARY.dingSecret))).status).toBe(401);
  });

  test('When a signed update nests JSON 10,000 levels deep, then 400 names the limit, nothing starts and the API stays up', async () => {
    const before = fake.of('telegram', 'sendMessage').length;
    const deep = `{"update_id":990001,"message":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const res = await post('/chat/telegram/gated', deep, { 'x-telegram-bot-api-secret-token': telegramSecrets.gated });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/nested deeper than 64 levels/);
    expect((await fetch(`${api.web.url}/healthz`)).status).toBe(200);
    expect(fake.of('telegram', 'sendMessage')).toHaveLength(before);
    expect((await call('GET', '/api/runs/run-chat-gated-telegram-tg-990001')).status).toBe(404);
  });
});

// ---- the Robot Host, gates and cancel from the chat -------------------------------------------------------------

const tgTexts = (chatId: number) => fake.of('telegram', 'sendMessage').filter((c) => String(c.body.chat_id) === String(chatId));
const lastAnswer = () => fake.of('telegram', 'answerCallbackQuery').at(-1)?.body.text as string | undefined;

describe('Robot Host over Telegram', () => {
  test('When a short task arrives, then the host asks in the chat, the answer is taken from the chat, the task is confirmed with a button, and the result comes back to the chat', async () => {
    const chatId = 4001;
    const first = tgMessage(chatId, 4001, 'Write a haiku');
    expect((await sendTelegram('hosted', first)).status).toBe(200);
    const runId = `run-chat-hosted-telegram-tg-${first.update_id}`;
    const question = await eventually(async () => tgTexts(chatId).find((c) => c.body.text.includes('what exactly should the result be')), 30_000).catch(async (err) => {
      throw new Error(`${err.message}; ${JSON.stringify(await conversationErrors())}; ${JSON.stringify(tgTexts(chatId).map((c) => c.body.text))}`);
    });
    expect(question.body.text).toContain('"Write a haiku" is short');
    expect((await call('GET', `/api/runs/${runId}`)).json).toMatchObject({ status: 'Pending', host: { status: 'asking' } });

    expect((await sendTelegram('hosted', tgMessage(chatId, 4001, 'About durable execution, for the platform team'))).status).toBe(200);
    const statement = await eventually(async () => tgTexts(chatId).find((c) => c.body.reply_markup?.inline_keyboard), 30_000);
    expect(statement.body.text).toContain('This is the task as I understand it');
    expect(statement.body.text).toContain('About durable execution, for the platform team');
    const confirm = statement.body.reply_markup.inline_keyboard[0][0];
    expect(confirm).toEqual({ text: 'Confirm', callback_data: 'mc:1:c:' });

    expect((await sendTelegram('hosted', tgClick(chatId, 4001, confirm.callback_data, 1))).status).toBe(200);
    const run = await waitFor(runId, (r) => r.status === 'Done', 60_000);
    expect(run.host.status).toBe('confirmed');
    expect(run.host.confirmedTask).toContain('About durable execution');
    expect(run.host.transcript.map((m: any) => m.role)).toEqual(['host', 'person', 'host']);
    await eventually(async () => tgTexts(chatId).some((c) => c.body.text.startsWith('Result of run 1')), 30_000);
    expect(lastAnswer()).toBe('Confirmed: the pipeline starts.');
  }, 120_000);
});

describe('approval gates from the chat', () => {
  test('Telegram: a click from someone not on the allow-list changes nothing; an approver\'s click goes on; a second click is answered "already decided"', async () => {
    const chatId = 5001;
    const start = tgMessage(chatId, 111, 'Draft the weekly status update for the whole team');
    await sendTelegram('gated', start);
    const runId = `run-chat-gated-telegram-tg-${start.update_id}`;
    await waitFor(runId, (r) => r.status === 'Review', 60_000);
    const gate = await eventually(async () => tgTexts(chatId).find((c) => c.body.reply_markup?.inline_keyboard), 30_000);
    expect(gate.body.text).toContain('waits for approval of the result before it is delivered');
    const buttons = gate.body.reply_markup.inline_keyboard[0];
    expect(buttons.map((b: any) => b.text)).toEqual(['Approve', 'Send back', 'Reject']);
    expect(buttons[0].callback_data).toBe('mc:1:a:final#1');
    const gateMessageId = 100; // any: the fake's message ids are not checked on clicks

    await sendTelegram('gated', tgClick(chatId, 999, buttons[0].callback_data, gateMessageId));
    await eventually(async () => lastAnswer()?.includes('Only approvers'), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json).toMatchObject({ status: 'Review', approvals: [] });

    await sendTelegram('gated', tgClick(chatId, 111, buttons[0].callback_data, gateMessageId));
    const done = await waitFor(runId, (r) => r.status === 'Done', 60_000);
    expect(done.approvals).toEqual([expect.objectContaining({ gate: 'final', decision: 'approve', channel: 'chat', by: 'telegram:user111' })]);
    await eventually(async () => lastAnswer() === 'Approved.', 20_000);
    await eventually(async () => fake.of('telegram', 'editMessageText').some((c) => c.body.text.startsWith('✅ Approved by user111')), 20_000);

    await sendTelegram('gated', tgClick(chatId, 111, buttons[0].callback_data, gateMessageId));
    await eventually(async () => /already decided/i.test(lastAnswer() ?? ''), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json.approvals).toHaveLength(1);
  }, 120_000);

  const slackClick = (user: string, value: string, thread: string, actionTs: string) => {
    const payload = {
      type: 'block_actions',
      user: { id: user, username: `name-${user}` },
      channel: { id: 'C500' },
      container: { type: 'message', message_ts: '1700000500.000200', channel_id: 'C500' },
      message: { ts: '1700000500.000200', thread_ts: thread },
      actions: [{ action_id: 'mc_0', type: 'button', value, action_ts: actionTs }],
      trigger_id: `trig-${actionTs}`,
    };
    return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  };
  const sendSlack = (body: string, type = 'application/json') => post('/chat/slack/gated', body, slackHeaders(body, CANARY.slackSigning), type);
  const ephemerals = (user: string) => fake.of('slack', 'chat.postEphemeral').filter((c) => c.body.user === user).map((c) => c.body.text as string);

  test('Slack: a click from someone not on the allow-list changes nothing; an approver\'s click goes on; a second click is answered "already decided"', async () => {
    const thread = '1700000500.000100';
    const mention = JSON.stringify({
      type: 'event_callback',
      event_id: 'EvGate1',
      event: { type: 'app_mention', user: 'UAPPROVER', text: '<@UROBOT> Draft the weekly status update for the whole team', channel: 'C500', ts: thread },
    });
    expect((await sendSlack(mention)).status).toBe(200);
    const runId = `run-chat-gated-slack-slack-C500-${thread}`;
    await waitFor(runId, (r) => r.status === 'Review', 60_000);
    const gate = await eventually(async () => fake.of('slack', 'chat.postMessage').find((c) => c.body.channel === 'C500' && c.body.blocks?.length), 30_000);
    expect(gate.body.thread_ts).toBe(thread);
    const actions = gate.body.blocks.find((b: any) => b.type === 'actions').elements;
    expect(actions.map((a: any) => a.text.text)).toEqual(['Approve', 'Send back', 'Reject']);
    const approve = actions[0].value;

    expect((await sendSlack(slackClick('UOTHER', approve, thread, '1700000600.1'), 'application/x-www-form-urlencoded')).status).toBe(200);
    await eventually(async () => ephemerals('UOTHER').some((t) => t.includes('Only approvers')), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json).toMatchObject({ status: 'Review', approvals: [] });

    await sendSlack(slackClick('UAPPROVER', approve, thread, '1700000601.1'), 'application/x-www-form-urlencoded');
    const done = await waitFor(runId, (r) => r.status === 'Done', 60_000);
    expect(done.approvals).toEqual([expect.objectContaining({ decision: 'approve', channel: 'chat', by: 'slack:name-UAPPROVER' })]);
    await eventually(async () => fake.of('slack', 'chat.update').some((c) => String(c.body.text).startsWith('✅ Approved by name-UAPPROVER')), 20_000);

    await sendSlack(slackClick('UAPPROVER', approve, thread, '1700000602.1'), 'application/x-www-form-urlencoded');
    await eventually(async () => ephemerals('UAPPROVER').some((t) => /already decided/i.test(t)), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json.approvals).toHaveLength(1);
  }, 120_000);

  test('Telegram: /cancel from the person who started the run cancels it, and the chat is told', async () => {
    const chatId = 5002;
    const start = tgMessage(chatId, 111, 'Draft the monthly report for the board of directors');
    await sendTelegram('gated', start);
    const runId = `run-chat-gated-telegram-tg-${start.update_id}`;
    await waitFor(runId, (r) => r.status === 'Review', 60_000);
    await sendTelegram('gated', tgMessage(chatId, 111, '/cancel'));
    await waitFor(runId, (r) => r.status === 'Cancelled', 30_000);
    await eventually(async () => tgTexts(chatId).some((c) => c.body.text.startsWith('⏹ Run cancelled')), 20_000);
  }, 90_000);

  // Discord's interactions: a button is a MESSAGE_COMPONENT interaction whose custom_id is the button's value.
  const discordInteraction = (id: string, userId: string, data: Record<string, unknown>, type = 2, messageId?: string) =>
    JSON.stringify({
      id,
      type,
      application_id: '5550001',
      channel_id: '9770002',
      guild_id: '8880001',
      member: { user: { id: userId, username: `u${userId}` } },
      ...(messageId ? { message: { id: messageId, channel_id: '9770002' } } : {}),
      data,
      token: `interaction-token-${id}`,
    });
  const sendDiscord = (body: string) => post('/chat/discord/gated-cards', body, discord.headers(body));
  const discordMessages = () => fake.of('discord', 'POST /channels/9770002/messages').map((c) => c.body);

  test('Discord: a button click from someone not on the allow-list changes nothing; an approver\'s click goes on; a second click is answered "already decided"', async () => {
    const ask = await sendDiscord(discordInteraction('7001', '5550555', { name: 'ask', options: [{ name: 'text', type: 3, value: 'Draft the weekly status update for the whole team' }] }));
    expect(ask.status).toBe(200);
    const runId = 'run-chat-gated-cards-discord-discord-7001';
    await waitFor(runId, (r) => r.status === 'Review', 60_000);
    const gate = await eventually(async () => discordMessages().find((m) => m.components?.length), 30_000);
    const buttons = gate.components[0].components;
    expect(buttons.map((b: any) => [b.type, b.label])).toEqual([[2, 'Approve'], [2, 'Send back'], [2, 'Reject']]);
    expect(buttons[0].custom_id).toBe('mc:1:a:final#1');

    // Discord wants the interaction answered at once: a deferred update; the conversation answers after.
    const stranger = await sendDiscord(discordInteraction('7002', '5550999', { custom_id: buttons[0].custom_id, component_type: 2 }, 3, '99001'));
    expect(stranger.status).toBe(200);
    expect(stranger.json).toEqual({ type: 6 });
    await eventually(async () => discordMessages().some((m) => m.content?.startsWith('<@5550999> Only approvers')), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json).toMatchObject({ status: 'Review', approvals: [] });

    expect((await sendDiscord(discordInteraction('7003', '5550555', { custom_id: buttons[0].custom_id, component_type: 2 }, 3, '99001'))).json).toEqual({ type: 6 });
    const done = await waitFor(runId, (r) => r.status === 'Done', 60_000);
    expect(done.approvals).toEqual([expect.objectContaining({ gate: 'final', decision: 'approve', channel: 'chat', by: 'discord:u5550555' })]);
    await eventually(
      async () => fake.calls.some((c) => c.platform === 'discord' && c.method.startsWith('PATCH /channels/9770002/messages/') && String(c.body.content).startsWith('✅ Approved by u5550555')),
      20_000,
    );

    await sendDiscord(discordInteraction('7004', '5550555', { custom_id: buttons[0].custom_id, component_type: 2 }, 3, '99001'));
    await eventually(async () => discordMessages().some((m) => m.content?.startsWith('<@5550555> Already decided')), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json.approvals).toHaveLength(1);
  }, 120_000);

  // Lark: a card click is a card.action.trigger event (encrypted and signed like every event) carrying the button's value.
  const larkEvent = (eventId: string, type: string, event: Record<string, unknown>) =>
    larkRequest({ schema: '2.0', header: { event_id: eventId, event_type: type, token: CANARY.larkToken, create_time: String(Date.now()), app_id: 'cli_test' }, event }, CANARY.larkEncrypt);
  const larkClick = (eventId: string, openId: string, value: string) =>
    larkEvent(eventId, 'card.action.trigger', { operator: { open_id: openId }, action: { tag: 'button', value: { mc: value } }, context: { open_message_id: 'om_gate_card', open_chat_id: 'oc_gate' } });
  const sendLark = (r: { body: string; headers: Record<string, string> }) => post('/chat/lark/gated-cards', r.body, r.headers);
  const larkCards = () => fake.of('lark', 'POST /im/v1/messages').filter((c) => c.body.receive_id === 'oc_gate').map((c) => JSON.parse(c.body.content));
  const cardText = (card: any) => String(card.elements[0].text.content);

  test('Lark: a card click from someone not on the allow-list changes nothing; an approver\'s click goes on; a second click is answered "already decided"', async () => {
    const message = larkEvent('lkgate1', 'im.message.receive_v1', {
      sender: { sender_id: { open_id: 'ou_approver' }, sender_type: 'user' },
      message: { message_id: 'om_gate_in', chat_id: 'oc_gate', chat_type: 'group', message_type: 'text', content: JSON.stringify({ text: '@_user_1 Draft the weekly status update for the whole team' }) },
    });
    expect((await sendLark(message)).status).toBe(200);
    const runId = 'run-chat-gated-cards-lark-lark-lkgate1';
    await waitFor(runId, (r) => r.status === 'Review', 60_000);
    const gate = await eventually(async () => larkCards().find((c) => c.elements.some((e: any) => e.tag === 'action')), 30_000);
    const buttons = gate.elements.find((e: any) => e.tag === 'action').actions;
    expect(buttons.map((b: any) => b.text.content)).toEqual(['Approve', 'Send back', 'Reject']);
    const approve = buttons[0].value.mc;
    expect(approve).toBe('mc:1:a:final#1');

    expect((await sendLark(larkClick('lkclick1', 'ou_other', approve))).status).toBe(200);
    await eventually(async () => larkCards().some((c) => cardText(c).startsWith('<at id=ou_other></at> Only approvers')), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json).toMatchObject({ status: 'Review', approvals: [] });

    // A click signed with a wrong Encrypt Key is refused and decides nothing.
    const forged = larkRequest({ schema: '2.0', header: { event_id: 'lkforged', event_type: 'card.action.trigger', token: CANARY.larkToken }, event: { operator: { open_id: 'ou_approver' }, action: { value: { mc: approve } }, context: { open_chat_id: 'oc_gate' } } }, 'not-the-encrypt-key');
    expect((await sendLark(forged)).status).toBe(401);

    expect((await sendLark(larkClick('lkclick2', 'ou_approver', approve))).status).toBe(200);
    const done = await waitFor(runId, (r) => r.status === 'Done', 60_000);
    expect(done.approvals).toEqual([expect.objectContaining({ gate: 'final', decision: 'approve', channel: 'chat', by: 'lark:ou_approver' })]);
    await eventually(
      async () =>
        fake.calls.some((c) => c.platform === 'lark' && c.method.startsWith('PATCH /im/v1/messages/') && cardText(JSON.parse(c.body.content)).startsWith('✅ Approved by ou_approver')),
      20_000,
    );

    await sendLark(larkClick('lkclick3', 'ou_approver', approve));
    await eventually(async () => larkCards().some((c) => cardText(c).startsWith('<at id=ou_approver></at> Already decided')), 20_000);
    expect((await call('GET', `/api/runs/${runId}`)).json.approvals).toHaveLength(1);
  }, 120_000);
});

// ---- who may talk to the robot, and disconnecting ---------------------------------------------------------------

describe('users and disconnecting', () => {
  test('When someone not on the robot\'s list of users writes, then the chat is told and no run starts; a listed user\'s message starts one', async () => {
    expect((await call('POST', '/api/robots', { id: 'listed', name: 'Listed', role: 'Talks to a few people only.' })).status).toBe(201);
    const connected = await call('PUT', '/api/robots/listed/integrations/telegram', { botToken: CANARY.telegram, users: ['201'] });
    expect(connected.status).toBe(200);
    expect(connected.json.status.integration.users).toEqual(['201']);
    telegramSecrets.listed = fake.of('telegram', 'setWebhook').at(-1)!.body.secret_token;

    const chatId = 6001;
    const stranger = tgMessage(chatId, 202, 'Tell me everything about the release');
    expect((await sendTelegram('listed', stranger)).status).toBe(200);
    await eventually(async () => tgTexts(chatId).some((c) => c.body.text.includes('not on this robot\'s list of users')), 20_000);
    expect((await call('GET', `/api/runs/run-chat-listed-telegram-tg-${stranger.update_id}`)).status).toBe(404);
    expect((await call('GET', '/api/runs?robotId=listed')).json.runs).toEqual([]);

    const member = tgMessage(chatId, 201, 'Summarise the release for the team please');
    expect((await sendTelegram('listed', member)).status).toBe(200);
    await waitFor(`run-chat-listed-telegram-tg-${member.update_id}`, (r) => r.status === 'Done', 60_000);
    expect((await call('GET', '/api/runs?robotId=listed')).json.runs.map((r: { id: string }) => r.id)).toEqual([`run-chat-listed-telegram-tg-${member.update_id}`]);
  }, 120_000);

  test('When a platform is disconnected, then its inbound URL answers as for a robot without it (even correctly signed) and nothing starts or reaches the conversation', async () => {
    await createRobot('leaving', {}, { telegram: [], slack: [] });
    const oldSecret = telegramSecrets.leaving;
    const chatId = 6101;
    const first = tgMessage(chatId, 301, 'Summarise the release for the team please');
    await sendTelegram('leaving', first);
    await waitFor(`run-chat-leaving-telegram-tg-${first.update_id}`, (r) => r.status === 'Done', 60_000);
    const conversation = env.client.workflow.getHandle(conversationIdOf('leaving', 'telegram', { id: String(chatId) }));
    const before = (await conversation.query(chatConversationQuery)).counts.events;

    const deletes = fake.of('telegram', 'deleteWebhook').length;
    const gone = await call('DELETE', '/api/robots/leaving/integrations/telegram');
    expect(gone.status).toBe(200);
    expect(gone.json).toMatchObject({ platform: 'telegram', disconnected: true });
    expect(fake.of('telegram', 'deleteWebhook')).toHaveLength(deletes + 1);
    expect((await call('DELETE', '/api/robots/leaving/integrations/slack')).status).toBe(200);
    expect((await call('GET', '/api/robots/leaving/integrations')).json.integrations).toEqual([]);
    expect((await call('GET', '/api/credentials')).json.credentials.filter((c: { name: string }) => c.name.startsWith('leaving-'))).toEqual([]);

    // The same request to a robot that never had the integration: what a disconnected one must answer too.
    const unknown = await sendTelegram('nobody-here', tgMessage(chatId, 301, 'hello'), oldSecret);
    expect(unknown.status).toBe(401);
    const after = tgMessage(chatId, 301, 'Anything new since the release?');
    const refused = await sendTelegram('leaving', after, oldSecret);
    expect([refused.status, refused.json]).toEqual([unknown.status, unknown.json]);

    const slackBody = JSON.stringify({ type: 'event_callback', event_id: 'EvLeaving1', event: { type: 'app_mention', user: 'U301', text: '<@UROBOT> Anything new?', channel: 'C6101', ts: '1700006101.000100' } });
    const slackUnknown = await post('/chat/slack/nobody-here', slackBody, slackHeaders(slackBody, CANARY.slackSigning));
    const slackRefused = await post('/chat/slack/leaving', slackBody, slackHeaders(slackBody, CANARY.slackSigning));
    expect([slackRefused.status, slackRefused.json]).toEqual([401, slackUnknown.json]);

    await new Promise((r) => setTimeout(r, 500));
    expect((await call('GET', `/api/runs/run-chat-leaving-telegram-tg-${after.update_id}`)).status).toBe(404);
    expect((await call('GET', '/api/runs/run-chat-leaving-slack-slack-C6101-1700006101.000100')).status).toBe(404);
    expect((await conversation.query(chatConversationQuery)).counts.events).toBe(before);
  }, 120_000);
});

// ---- the canary --------------------------------------------------------------------------------------------------

describe('secrets', () => {
  test('When histories, logs, /metrics, the event stream and API answers are searched, then no bot token or signing secret appears', async () => {
    const ids: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowType = 'chatConversationWorkflow' OR WorkflowType = 'robotRunWorkflow' OR WorkflowType = 'chatIntegrationWorkflow'` })) ids.push(wf.workflowId);
    expect(ids.length).toBeGreaterThan(10);
    const histories: string[] = [];
    for (const id of ids) {
      const { stdout } = await promisify(execFile)(
        process.env.TEMPORAL_CLI_PATH!,
        ['workflow', 'show', '--address', env.address, '--namespace', 'default', '--workflow-id', id, '--output', 'json'],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      histories.push(stdout);
    }
    const answers = [
      (await call('GET', '/api/robots')).text,
      (await call('GET', '/api/robots/chatbot/integrations')).text,
      (await call('GET', '/api/robots/gated/integrations/telegram')).text,
      (await call('POST', '/api/robots/chatbot/integrations/slack/test')).text,
      (await call('GET', '/api/credentials')).text,
      (await call('GET', '/api/runs?limit=1000')).text,
      (await call('GET', '/metrics')).text,
      (await call('GET', '/openapi.json')).text,
    ];
    const secrets = { ...CANARY, telegramWebhookSecret: telegramSecrets.chatbot };
    const haystacks = { histories: histories.join('\n'), logs: logs.join(''), sse: sse.messages.map((m) => m.data).join('\n'), answers: answers.join('\n') };
    expect(haystacks.sse.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const [what, secret] of Object.entries(secrets)) expect(`${where} contains ${what}: ${text.includes(secret)}`).toBe(`${where} contains ${what}: false`);
    }
    const status = (await call('GET', '/api/robots/chatbot/integrations')).json.integrations;
    expect(status.map((s: any) => [s.platform, s.connected, s.conversations > 0])).toEqual([
      ['telegram', true, true],
      ['slack', true, true],
      ['discord', true, true],
      ['lark', true, true],
      ['dingtalk', true, true],
    ]);
    expect(status[0]).toMatchObject({ inboundUrl: `${api.web.url}/chat/telegram/chatbot`, lastEvent: { type: 'message' } });
    expect((await call('GET', '/metrics')).text).toMatch(/mc_chat_requests_total\{platform="slack",outcome="refused"\} [1-9]/);
    expect(conversationIdOf('chatbot', 'telegram', { id: '777' })).toMatch(/^chat-chatbot-telegram-[0-9a-f]{24}$/);
  }, 120_000);
});
