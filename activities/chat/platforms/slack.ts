/**
 * Slack through the official Web API client (@slack/web-api, at MC_SLACK_API_URL; its own retries off, rate limits
 * rejected so Temporal retries after Retry-After), as the `slack` delivery destination: `chat.postMessage` in the
 * conversation's thread with Block Kit buttons, `chat.update`, `chat.postEphemeral` to answer a click to the
 * clicker only, `auth.test`. Slack has no API to set an app's Request URLs: they are pasted (README).
 */
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient } from '@slack/web-api';
import type { ChatButton } from '../../../contracts/chat';
import { deliveryFailure, retryableStatus } from '../../delivery/types';
import { definePlatform } from '../types';

/** Platform errors worth another attempt; the rest (channel_not_found, invalid_auth, …) will not change. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

/** A section block takes 3,000 characters; longer texts go as plain `text` only. */
function blocks(text: string, buttons?: ChatButton[]) {
  if (!buttons?.length) return [];
  return [
    { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } },
    {
      type: 'actions',
      elements: buttons.map((b, i) => ({ type: 'button', action_id: `mc_${i}`, text: { type: 'plain_text', text: b.label }, value: b.value, ...(b.style ? { style: b.style } : {}) })),
    },
  ];
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WebAPIRateLimitedError) throw deliveryFailure(`Slack rate-limited ${what}`, { retryable: true, retryAfterMs: err.retryAfter * 1000, statusCode: 429 });
    if (err instanceof WebAPIPlatformError) throw deliveryFailure(`Slack refused ${what}: ${err.data.error}`, { retryable: TRANSIENT.has(err.data.error), statusCode: 200 });
    if (err instanceof WebAPIHTTPError) throw deliveryFailure(`Slack answered HTTP ${err.statusCode} to ${what}`, { retryable: retryableStatus(err.statusCode), statusCode: err.statusCode });
    if (err instanceof WebAPIRequestError) throw deliveryFailure(`Slack could not be reached: ${err.original.message}`, { retryable: true });
    throw err;
  }
}

export const slackPlatform = definePlatform({
  platform: 'slack',
  async client(integration, ctx) {
    const client = new WebClient(await ctx.credential(integration.botToken), {
      slackApiUrl: ctx.config.MC_SLACK_API_URL,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: ctx.config.MC_DELIVERY_TIMEOUT_MS,
    });
    return {
      limit: 4000,
      async send(chat, m) {
        const res = await call('the message', () =>
          client.chat.postMessage({ channel: chat.id, ...(chat.thread ? { thread_ts: chat.thread } : {}), text: m.text, blocks: blocks(m.text, m.buttons), unfurl_links: false }),
        );
        return String(res.ts);
      },
      async edit(chat, messageId, m) {
        await call('the edit', () => client.chat.update({ channel: chat.id, ts: messageId, text: m.text, blocks: blocks(m.text, m.buttons) }));
      },
      async ack(chat, ack, text) {
        if (!ack.userId) return;
        await call('the answer to a click', () => client.chat.postEphemeral({ channel: chat.id, user: ack.userId as string, text, ...(chat.thread ? { thread_ts: chat.thread } : {}) }));
      },
      async check() {
        const res = await call('auth.test', () => client.auth.test());
        return `Slack bot ${res.user} in ${res.team}`;
      },
    };
  },
});
