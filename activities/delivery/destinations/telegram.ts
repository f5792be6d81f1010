/**
 * `telegram`: a message to a chat through grammY's Bot API client (`sendMessage`, at MC_TELEGRAM_API_URL), as plain
 * text (no parse mode, so nothing in a report can break the message). grammY does not retry by itself; a 429 is
 * retried by Temporal after the `retry_after` Telegram gives. The message id is Telegram's `message_id`.
 */
import { Api, GrammyError, HttpError } from 'grammy';
import type { z } from 'zod';
import type { TelegramDestination } from '../../../contracts/delivery';
import { defineDestination, deliveryFailure, retryableStatus } from '../types';

/** Telegram's limit of a message's text. */
const TELEGRAM_TEXT_LIMIT = 4096;

export const telegramDestination = defineDestination<z.infer<typeof TelegramDestination>>({
  type: 'telegram',
  async send(d, ctx) {
    const api = new Api(await ctx.credential(d.credential), {
      apiRoot: ctx.config.MC_TELEGRAM_API_URL.replace(/\/$/, ''),
      timeoutSeconds: Math.ceil(ctx.config.MC_DELIVERY_TIMEOUT_MS / 1000),
    });
    try {
      // grammY types its signal with the abort-controller polyfill; at run time it takes Node's own AbortSignal.
      const message = await api.sendMessage(d.chatId, ctx.message.text(TELEGRAM_TEXT_LIMIT), { link_preview_options: { is_disabled: true } }, ctx.signal as never);
      return { statusCode: 200, messageId: String(message.message_id) };
    } catch (err) {
      if (err instanceof GrammyError) {
        const retryAfter = err.parameters?.retry_after;
        throw deliveryFailure(`Telegram refused the message: ${err.description}`, {
          retryable: retryableStatus(err.error_code),
          retryAfterMs: retryAfter !== undefined ? retryAfter * 1000 : undefined,
          statusCode: err.error_code,
        });
      }
      if (err instanceof HttpError && !ctx.signal.aborted) throw deliveryFailure(`Telegram could not be reached: ${(err.error as Error)?.message ?? err.message}`, { retryable: true });
      throw err;
    }
  },
});
