/**
 * Telegram's webhook: every request carries `X-Telegram-Bot-Api-Secret-Token`, the `secret_token` given to
 * setWebhook; a request without it, or with another, is refused (401). Hand-written on purpose: grammY's own check
 * lives inside its webhook adapter, which needs a Bot with the token on the API, and it is one comparison (done here
 * in constant time). Telegram signs nothing else and sends no timestamp: a replayed update carries the same
 * `update_id`, which the conversation has seen. Messages and inline-keyboard clicks (`callback_query`) are read;
 * other updates are acknowledged and dropped.
 */
import { decodeButton } from '../../../contracts/chat';
import { InvalidSignature } from '../../errors';
import { sameSecret } from '../compare';
import { defineInbound, header, OK, type InboundEvent } from '../types';

interface TgUser {
  id: number;
  is_bot?: boolean;
  username?: string;
  first_name?: string;
}
interface TgChat {
  id: number;
  type: string;
}
interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  text?: string;
  message_thread_id?: number;
  is_topic_message?: boolean;
}
interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  callback_query?: { id: string; from: TgUser; message?: TgMessage; data?: string };
}

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

const userOf = (u: TgUser) => ({ id: String(u.id), name: u.username ?? u.first_name });
const chatOf = (m: TgMessage) => ({
  id: String(m.chat.id),
  ...(m.is_topic_message && m.message_thread_id ? { thread: String(m.message_thread_id) } : {}),
  kind: m.chat.type === 'private' ? ('private' as const) : ('group' as const),
});

export const telegramInbound = defineInbound({
  platform: 'telegram',
  async receive(req, integration, secret) {
    if (!sameSecret(header(req.headers, SECRET_HEADER), await secret(integration.webhookSecret))) {
      throw new InvalidSignature(`missing or wrong ${SECRET_HEADER}`);
    }
    const update = JSON.parse(req.body.toString('utf8')) as TgUpdate;
    const events: InboundEvent[] = [];
    const m = update.message;
    if (m?.from && !m.from.is_bot && typeof m.text === 'string') {
      events.push({ eventId: `tg-${update.update_id}`, user: userOf(m.from), chat: chatOf(m), text: m.text });
    }
    const q = update.callback_query;
    const button = q?.data ? decodeButton(q.data) : undefined;
    if (q?.message && button) {
      events.push({
        eventId: `tg-${update.update_id}`,
        user: userOf(q.from),
        chat: chatOf(q.message),
        action: { ...button, clickId: `tg-${q.id}`, messageId: String(q.message.message_id) },
        ack: { id: q.id },
      });
    }
    return { reply: OK, events };
  },
});
