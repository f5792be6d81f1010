/**
 * Lark / Feishu through the official SDK's client (@larksuiteoapi/node-sdk `Client`, at MC_LARK_API_URL: Feishu
 * `https://open.feishu.cn` or Lark `https://open.larksuite.com`), which fetches and caches the tenant access token
 * from the App ID and App Secret. Every message is an interactive card (Markdown text, and buttons whose value comes
 * back in `card.action.trigger`), so any message the robot sent can be edited (`im.message.patch`). A click is
 * answered in the chat, mentioning the clicker. The SDK's logger is silenced: it logs whole HTTP errors, whose
 * request may carry the App Secret.
 */
import * as lark from '@larksuiteoapi/node-sdk';
import type { ChatButton } from '../../../contracts/chat';
import { deliveryFailure, retryableStatus } from '../../delivery/types';
import { definePlatform } from '../types';

const quiet = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

/** A card: the text as Markdown, and the buttons (their value is `{ mc: <button value> }`). */
export function larkCard(text: string, buttons?: ChatButton[]): string {
  const elements: unknown[] = [{ tag: 'div', text: { tag: 'lark_md', content: text } }];
  if (buttons?.length) {
    elements.push({
      tag: 'action',
      actions: buttons.map((b) => ({ tag: 'button', text: { tag: 'plain_text', content: b.label }, type: b.style === 'danger' ? 'danger' : b.style === 'primary' ? 'primary' : 'default', value: { mc: b.value } })),
    });
  }
  return JSON.stringify({ config: { wide_screen_mode: true, update_multi: true }, elements });
}

interface LarkReply {
  code?: number;
  msg?: string;
  data?: { message_id?: string; bot?: { app_name?: string; open_id?: string } };
}

async function call(what: string, fn: () => Promise<LarkReply | undefined | null>): Promise<LarkReply> {
  let res: LarkReply | undefined | null;
  try {
    res = await fn();
  } catch (err) {
    const status = (err as { response?: { status?: number; data?: LarkReply } }).response?.status;
    const body = (err as { response?: { data?: LarkReply } }).response?.data;
    if (status) throw deliveryFailure(`Lark answered HTTP ${status} to ${what}${body?.msg ? `: ${body.msg}` : ''}`, { retryable: retryableStatus(status), statusCode: status });
    throw deliveryFailure(`Lark could not be reached: ${(err as Error).message}`, { retryable: true });
  }
  if (res && res.code !== undefined && res.code !== 0) throw deliveryFailure(`Lark refused ${what}: ${res.msg ?? res.code}`, { retryable: false, statusCode: 200 });
  return res ?? {};
}

export const larkPlatform = definePlatform({
  platform: 'lark',
  async client(integration, ctx) {
    const client = new lark.Client({
      appId: integration.appId,
      appSecret: await ctx.credential(integration.appSecret),
      domain: ctx.config.MC_LARK_API_URL.replace(/\/$/, ''),
      loggerLevel: lark.LoggerLevel.error,
      logger: quiet,
    });
    const send = async (chatId: string, content: string) =>
      (await call('the message', () => client.im.message.create({ params: { receive_id_type: 'chat_id' }, data: { receive_id: chatId, msg_type: 'interactive', content } }))).data?.message_id ?? '';
    return {
      limit: 8000,
      send: (chat, m) => send(chat.id, larkCard(m.text, m.buttons)),
      async edit(_chat, messageId, m) {
        await call('the edit', () => client.im.message.patch({ path: { message_id: messageId }, data: { content: larkCard(m.text, m.buttons) } }));
      },
      async ack(chat, ack, text) {
        await send(chat.id, larkCard(ack.userId ? `<at id=${ack.userId}></at> ${text}` : text));
      },
      async check() {
        const res = await call('bot/v3/info', () => client.request({ method: 'GET', url: '/open-apis/bot/v3/info' }) as Promise<LarkReply>);
        const bot = (res as LarkReply & { bot?: { app_name?: string } }).bot ?? res.data?.bot;
        return `Lark app ${bot?.app_name ?? integration.appId}`;
      },
    };
  },
});
