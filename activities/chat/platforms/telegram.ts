/**
 * Telegram through grammY's Bot API client (`Api`, at MC_TELEGRAM_API_URL), the library the `telegram` delivery
 * destination uses: messages with an inline keyboard, edits (`editMessageText`), answers to clicks
 * (`answerCallbackQuery`, shown to the clicker only), files (`sendDocument`), `getMe`, and connecting sets the
 * bot's webhook to the inbound URL with the integration's secret token (`setWebhook` with `secret_token`), which
 * Telegram then sends back in `X-Telegram-Bot-Api-Secret-Token`.
 */
import { Api, GrammyError, HttpError, InputFile } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import type { ChatButton, ChatRef } from '../../../contracts/chat';
import { deliveryFailure, retryableStatus } from '../../delivery/types';
import { definePlatform } from '../types';

const keyboard = (buttons?: ChatButton[]): InlineKeyboardMarkup | undefined =>
  buttons?.length ? { inline_keyboard: [buttons.map((b) => ({ text: b.label, callback_data: b.value }))] } : undefined;

const thread = (chat: ChatRef) => (chat.thread ? { message_thread_id: Number(chat.thread) } : {});

async function call<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GrammyError) {
      // Editing a message to the text it has is not a failure worth retrying or reporting.
      if (err.description.includes('message is not modified')) return undefined as T;
      const retryAfter = err.parameters?.retry_after;
      throw deliveryFailure(`Telegram refused ${what}: ${err.description}`, {
        retryable: retryableStatus(err.error_code),
        retryAfterMs: retryAfter !== undefined ? retryAfter * 1000 : undefined,
        statusCode: err.error_code,
      });
    }
    if (err instanceof HttpError && !signal.aborted) throw deliveryFailure(`Telegram could not be reached: ${(err.error as Error)?.message ?? err.message}`, { retryable: true });
    throw err;
  }
}

export const telegramPlatform = definePlatform({
  platform: 'telegram',
  async client(integration, ctx) {
    const api = new Api(await ctx.credential(integration.botToken), {
      apiRoot: ctx.config.MC_TELEGRAM_API_URL.replace(/\/$/, ''),
      timeoutSeconds: Math.ceil(ctx.config.MC_DELIVERY_TIMEOUT_MS / 1000),
    });
    // grammY types its signal with the abort-controller polyfill; at run time it takes Node's own AbortSignal.
    const signal = ctx.signal as never;
    return {
      limit: 4096,
      async send(chat, m) {
        const sent = await call('the message', ctx.signal, () =>
          api.sendMessage(chat.id, m.text, { ...thread(chat), reply_markup: keyboard(m.buttons), link_preview_options: { is_disabled: true } }, signal),
        );
        return String(sent.message_id);
      },
      async edit(chat, messageId, m) {
        await call('the edit', ctx.signal, () => api.editMessageText(chat.id, Number(messageId), m.text, { reply_markup: keyboard(m.buttons) }, signal));
      },
      async ack(_chat, ack, text) {
        if (!ack.id) return;
        await call('the answer to a click', ctx.signal, () => api.answerCallbackQuery(ack.id as string, { text: text.slice(0, 200), show_alert: true }, signal));
      },
      async sendFile(chat, name, content, caption) {
        const sent = await call('the file', ctx.signal, () => api.sendDocument(chat.id, new InputFile(Buffer.from(content, 'utf8'), name), { ...thread(chat), caption: caption.slice(0, 1024) }, signal));
        return String(sent.message_id);
      },
      async check() {
        const me = await call('getMe', ctx.signal, () => api.getMe(signal));
        return `Telegram bot @${me.username} (${me.id})`;
      },
      async connect(url) {
        const secret = await ctx.credential(integration.webhookSecret);
        await call('setWebhook', ctx.signal, () => api.setWebhook(url, { secret_token: secret, allowed_updates: ['message', 'callback_query'], drop_pending_updates: false }, signal));
        return `webhook set to ${url}`;
      },
      async disconnect() {
        await call('deleteWebhook', ctx.signal, () => api.deleteWebhook({}, signal));
        return 'webhook removed';
      },
    };
  },
});
