/**
 * `slack`: a message to a channel. With `channel`, the credential is a bot token and the message goes through the
 * official client (@slack/web-api `chat.postMessage`, at MC_SLACK_API_URL; its own retries off, rate limits
 * rejected so that Temporal retries after Retry-After); without, the credential is an incoming-webhook URL.
 * The message id is the message's `ts`.
 */
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient } from '@slack/web-api';
import type { z } from 'zod';
import type { SlackDestination } from '../../../contracts/delivery';
import { defineDestination, deliveryFailure, retryableStatus } from '../types';
import { postToIncomingWebhook } from './incoming-webhook';

/** Slack's recommended upper bound of a message's text. */
const SLACK_TEXT_LIMIT = 4000;

/** Platform errors worth another attempt; the rest (channel_not_found, invalid_auth, …) will not change. */
const TRANSIENT = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

export const slackDestination = defineDestination<z.infer<typeof SlackDestination>>({
  type: 'slack',
  async send(d, ctx) {
    const text = ctx.message.text(SLACK_TEXT_LIMIT);
    const secret = await ctx.credential(d.credential);
    if (!d.channel) {
      const res = await postToIncomingWebhook('Slack incoming webhook', secret, { text }, ctx);
      return { statusCode: res.status };
    }
    const client = new WebClient(secret, {
      slackApiUrl: ctx.config.MC_SLACK_API_URL,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: ctx.config.MC_DELIVERY_TIMEOUT_MS,
    });
    try {
      const res = await client.chat.postMessage({ channel: d.channel, text, mrkdwn: true });
      return { statusCode: 200, messageId: res.ts };
    } catch (err) {
      if (err instanceof WebAPIRateLimitedError) throw deliveryFailure('Slack rate-limited the message', { retryable: true, retryAfterMs: err.retryAfter * 1000, statusCode: 429 });
      if (err instanceof WebAPIPlatformError) throw deliveryFailure(`Slack refused the message: ${err.data.error}`, { retryable: TRANSIENT.has(err.data.error), statusCode: 200 });
      if (err instanceof WebAPIHTTPError) throw deliveryFailure(`Slack answered HTTP ${err.statusCode}`, { retryable: retryableStatus(err.statusCode), statusCode: err.statusCode });
      if (err instanceof WebAPIRequestError) throw deliveryFailure(`Slack could not be reached: ${err.original.message}`, { retryable: true });
      throw err;
    }
  },
});
