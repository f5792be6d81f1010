/**
 * A chat conversation survives a restart of everything: the API, the worker and the Temporal dev server (persistent
 * SQLite file, same port) are all stopped while the Robot Host waits for an answer in a Telegram chat, then started
 * again; the next message in the chat continues the same conversation and the same run to its result.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startWebServer, type WebServer } from '../api/app';
import { resolveCredentials } from '../api/auth';
import { conversationIdOf } from '../api/use-cases/receive-chat';
import { chatConversationQuery } from '../contracts/messages';
import { createMetrics } from '../lib/metrics';
import { freePort, PersistentDevServer, startWorkerAt } from '../testkit/dev-server';
import { eventually, testConfig } from '../testkit/temporal';
import { startFakeChat, type FakeChat } from './helpers/fake-chat';
import { apiClient, runWaiter } from './helpers/http';

const KEY = 'chat-restart-key';
const TOKEN = '654321:restart-telegram-token';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-chat-restart-'));
let fake: FakeChat;
let server: PersistentDevServer;
let worker: { stop(): Promise<void> } | undefined;
let web: WebServer | undefined;
let config: ReturnType<typeof testConfig>;
const call = apiClient(() => web!.url, KEY);
const waitFor = runWaiter(call);

async function startAll(): Promise<void> {
  const client = await server.start();
  worker = await startWorkerAt(server.address, config);
  web = await startWebServer({ client, config, credentials: resolveCredentials(config), metrics: createMetrics({ defaultMetrics: false }) }, { port: 0, host: '127.0.0.1' });
}

async function stopAll(): Promise<void> {
  await web?.stop();
  await worker?.stop();
  await server.stop();
  web = undefined;
  worker = undefined;
}

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* already installed in this process */
  }
  fake = await startFakeChat({ telegram: TOKEN, slack: 'x', discord: 'x', lark: { appId: 'x', appSecret: 'x' }, dingtalk: { appKey: 'x', appSecret: 'x' } });
  config = testConfig({ MC_API_KEYS: KEY, MC_SECRET_KEY: 'chat-restart-secret', MC_DATA_DIR: dir, MC_TELEGRAM_API_URL: fake.telegramApiUrl });
  server = new PersistentDevServer(path.join(dir, 't.db'), await freePort(), config.TEMPORAL_NAMESPACE);
  await startAll();
}, 120_000);

afterAll(async () => {
  await stopAll().catch(() => undefined);
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const texts = () => fake.of('telegram', 'sendMessage').filter((c) => String(c.body.chat_id) === '8080').map((c) => c.body);
let update = 7000;
const say = (secret: string, text: string) =>
  fetch(`${web!.url}/chat/telegram/talker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify({ update_id: ++update, message: { message_id: update, from: { id: 8080, username: 'pat' }, chat: { id: 8080, type: 'private' }, date: 0, text } }),
  });

test('When the api, the worker and the dev server restart while the Robot Host waits for an answer in the chat, then the next message continues the same conversation and run to the result', async () => {
  expect((await call('POST', '/api/robots', { id: 'talker', name: 'Talker', role: 'Writes short pieces.', host: { enabled: true } })).status).toBe(201);
  const connected = await call('PUT', '/api/robots/talker/integrations/telegram', { botToken: TOKEN });
  expect(connected.json.check.ok).toBe(true);
  const secret = fake.of('telegram', 'setWebhook').at(-1)!.body.secret_token as string;

  expect((await say(secret, 'Write a poem')).status).toBe(200);
  const runId = `run-chat-talker-telegram-tg-${update}`;
  await eventually(async () => texts().some((t) => t.text.includes('what exactly should the result be')), 60_000);
  const conversation = conversationIdOf('talker', 'telegram', { id: '8080' });

  await stopAll();
  await startAll();

  expect((await say(secret, 'A limerick about restarts, for the ops team')).status).toBe(200);
  const statement = await eventually(async () => texts().find((t) => t.reply_markup?.inline_keyboard), 60_000);
  expect(statement.text).toContain('A limerick about restarts');
  const click = await fetch(`${web!.url}/chat/telegram/talker`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify({
      update_id: ++update,
      callback_query: { id: 'cq-restart', from: { id: 8080, username: 'pat' }, message: { message_id: 1, chat: { id: 8080, type: 'private' }, date: 0 }, data: statement.reply_markup.inline_keyboard[0][0].callback_data },
    }),
  });
  expect(click.status).toBe(200);

  const run = await waitFor(runId, (r) => r.status === 'Done', 90_000);
  expect(run.host.transcript.map((m: any) => m.text)).toEqual([expect.stringContaining('"Write a poem" is short'), 'A limerick about restarts, for the ops team', expect.stringContaining('Confirm to start')]);
  await eventually(async () => texts().some((t) => t.text.startsWith('Result of run 1')), 30_000);
  const state = await server.client!.workflow.getHandle(conversation).query(chatConversationQuery);
  expect(state.runs.map((r) => [r.n, r.runId, r.status])).toEqual([[1, runId, 'Done']]);
  expect(state.transcript.filter((m) => m.role === 'person').map((m) => m.text)).toEqual(['Write a poem', 'A limerick about restarts, for the ops team']);
}, 240_000);
