/**
 * Slack's Events API and interactivity, both at the same URL. Every request is verified with the official Bolt
 * framework's `isValidSlackRequest` (signing secret, `v0:<timestamp>:<raw body>` HMAC-SHA256 in
 * `X-Slack-Signature`, and `X-Slack-Request-Timestamp` no older than 5 minutes), the documented scheme; a missing,
 * wrong or stale signature is a 401. Read:
 * - `url_verification` → the challenge;
 * - `app_mention` in a channel (the thread is the conversation: a new mention opens one) and `message` in a DM
 *   (the DM is the conversation); the bot's own and edited messages are dropped. The event id is the message's
 *   channel and ts, so a retry (`X-Slack-Retry-Num`) and the `message` + `app_mention` pair of one message are one;
 * - `block_actions` (a button click, form-encoded `payload`): the conversation of the message clicked.
 */
import { isValidSlackRequest } from '@slack/bolt';
import { decodeButton } from '../../../contracts/chat';
import { InvalidSignature } from '../../errors';
import { defineInbound, header, OK, type InboundEvent } from '../types';

/** Slack DM channel ids start with D: the whole DM is one conversation. */
const chatOf = (channel: string, threadTs: string | undefined, ts: string) =>
  channel.startsWith('D') ? { id: channel, kind: 'private' as const } : { id: channel, thread: threadTs ?? ts, kind: 'group' as const };

const withoutMentions = (text: string) => text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, '').trim();

export const slackInbound = defineInbound({
  platform: 'slack',
  async receive(req, integration, secret) {
    const raw = req.body.toString('utf8');
    const signature = header(req.headers, 'x-slack-signature');
    const timestamp = Number(header(req.headers, 'x-slack-request-timestamp'));
    const valid =
      !!signature &&
      Number.isFinite(timestamp) &&
      isValidSlackRequest({ signingSecret: await secret(integration.signingSecret), body: raw, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp }, nowMilliseconds: req.now });
    if (!valid) throw new InvalidSignature('missing, wrong or stale X-Slack-Signature');

    if ((header(req.headers, 'content-type') ?? '').includes('application/x-www-form-urlencoded')) {
      const payload = JSON.parse(new URLSearchParams(raw).get('payload') ?? '{}');
      const events: InboundEvent[] = [];
      if (payload.type === 'block_actions') {
        const action = payload.actions?.[0];
        const button = typeof action?.value === 'string' ? decodeButton(action.value) : undefined;
        const channel = payload.channel?.id ?? payload.container?.channel_id;
        const message = payload.message ?? {};
        if (button && channel && payload.user?.id) {
          const clickId = `slack-${payload.user.id}-${action.action_ts}`;
          events.push({
            eventId: clickId,
            user: { id: payload.user.id, name: payload.user.username ?? payload.user.name },
            chat: chatOf(channel, message.thread_ts, message.ts),
            action: { ...button, clickId, messageId: message.ts },
            ack: { userId: payload.user.id },
          });
        }
      }
      return { reply: { status: 200 }, events };
    }

    const body = JSON.parse(raw);
    if (body.type === 'url_verification') return { reply: { status: 200, body: { challenge: body.challenge } }, events: [] };
    const e = body.event ?? {};
    const mine = e.type === 'app_mention' || (e.type === 'message' && e.channel_type === 'im');
    if (body.type !== 'event_callback' || !mine || e.bot_id || e.subtype || !e.user || typeof e.text !== 'string') return { reply: OK, events: [] };
    return {
      reply: OK,
      events: [{ eventId: `slack-${e.channel}-${e.ts}`, user: { id: e.user }, chat: chatOf(e.channel, e.thread_ts, e.ts), text: withoutMentions(e.text) }],
    };
  },
});
