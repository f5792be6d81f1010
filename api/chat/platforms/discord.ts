/**
 * Discord's Interactions endpoint. Every request is verified with Discord's own `discord-interactions` library
 * (`verifyKey`: Ed25519 over `<X-Signature-Timestamp><raw body>` with the application's public key); a missing or
 * wrong signature is a 401, as Discord expects (it sends bad ones on purpose to check). A timestamp more than 5
 * minutes off is refused too (Discord does not retry interactions, so only a replay is that old). Answers within
 * Discord's 3 s, from here: PING → PONG; a command (`/ask`, `/cancel`, `/approve`, `/reject`, `/revise`) → a
 * message that shows what was asked; a button → "deferred update" (the conversation edits the message after).
 */
import { InteractionResponseType, InteractionType, verifyKey } from 'discord-interactions';
import { decodeButton } from '../../../contracts/chat';
import { InvalidSignature } from '../../errors';
import { defineInbound, header, type InboundEvent } from '../types';

const TOLERANCE_MS = 5 * 60_000;

interface Option {
  name: string;
  value?: unknown;
}

/** A command as the text the conversation reads. */
function commandText(name: string, options: Option[] = []): string | undefined {
  const opt = (n: string) => {
    const v = options.find((o) => o.name === n)?.value;
    return typeof v === 'string' ? v.trim() : '';
  };
  switch (name) {
    case 'ask':
      return opt('text') || undefined;
    case 'cancel':
    case 'approve':
      return `/${name}`;
    case 'reject':
      return `/reject ${opt('reason')}`.trim();
    case 'revise':
      return `/revise ${opt('feedback')}`.trim();
    default:
      return undefined;
  }
}

export const discordInbound = defineInbound({
  platform: 'discord',
  async receive(req, integration) {
    const signature = header(req.headers, 'x-signature-ed25519');
    const timestamp = header(req.headers, 'x-signature-timestamp');
    if (!signature || !timestamp || !(await verifyKey(req.body, signature, timestamp, integration.publicKey).catch(() => false))) {
      throw new InvalidSignature('invalid request signature');
    }
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(req.now - Number(timestamp) * 1000) > TOLERANCE_MS) throw new InvalidSignature('stale request (X-Signature-Timestamp)');

    const i = JSON.parse(req.body.toString('utf8'));
    if (i.type === InteractionType.PING) return { reply: { status: 200, body: { type: InteractionResponseType.PONG } }, events: [] };
    const u = i.member?.user ?? i.user ?? {};
    const user = { id: String(u.id ?? ''), name: u.global_name ?? u.username };
    const chat = { id: String(i.channel_id ?? i.channel?.id ?? ''), kind: i.guild_id ? ('group' as const) : ('private' as const) };
    const events: InboundEvent[] = [];
    if (i.type === InteractionType.APPLICATION_COMMAND) {
      const text = commandText(i.data?.name, i.data?.options);
      if (text && user.id && chat.id) events.push({ eventId: `discord-${i.id}`, user, chat, text });
      return {
        reply: {
          status: 200,
          body: { type: InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE, data: { content: text ? `**${user.name ?? user.id}:** ${text}`.slice(0, 2000) : 'Unknown command.', allowed_mentions: { parse: [] } } },
        },
        events,
      };
    }
    if (i.type === InteractionType.MESSAGE_COMPONENT) {
      const button = typeof i.data?.custom_id === 'string' ? decodeButton(i.data.custom_id) : undefined;
      if (button && user.id && chat.id) {
        events.push({ eventId: `discord-${i.id}`, user, chat, action: { ...button, clickId: `discord-${i.id}`, messageId: i.message?.id }, ack: { userId: user.id } });
      }
      return { reply: { status: 200, body: { type: InteractionResponseType.DEFERRED_UPDATE_MESSAGE } }, events };
    }
    return { reply: { status: 400, body: { error: 'unsupported interaction type' } }, events: [] };
  },
});
