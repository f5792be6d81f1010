/**
 * `discord`: a message to a channel. With `channel`, the credential is a bot token and the message goes through
 * discord.js's REST client (@discordjs/rest, at MC_DISCORD_API_URL; its retries off, rate limits rejected so that
 * Temporal retries after the reset) with a `nonce` derived from the idempotency key and `enforce_nonce`, so Discord
 * itself drops a repeat; without, the credential is a channel webhook URL (`?wait=true`, to learn the message id).
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { DiscordDestination } from '../../../contracts/delivery';
import { discordCall, discordRest } from '../../net/discord';
import { defineDestination } from '../types';
import { postToIncomingWebhook } from './incoming-webhook';

/** Discord's limit of a message's content. */
const DISCORD_TEXT_LIMIT = 2000;

/** A nonce of at most 25 characters, the same for every attempt of one destination. */
export const nonceOf = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 25);

export const discordDestination = defineDestination<z.infer<typeof DiscordDestination>>({
  type: 'discord',
  async send(d, ctx) {
    const content = ctx.message.text(DISCORD_TEXT_LIMIT);
    const secret = await ctx.credential(d.credential);
    if (!d.channel) {
      const url = new URL(secret);
      url.searchParams.set('wait', 'true');
      const res = await postToIncomingWebhook('Discord webhook', url.href, { content, allowed_mentions: { parse: [] } }, ctx);
      return { statusCode: res.status, messageId: safeId(res.body) };
    }
    const rest = discordRest(ctx.config, secret);
    const message = (await discordCall('the message', ctx.signal, () =>
      rest.post(`/channels/${d.channel}/messages`, {
        body: { content, nonce: nonceOf(ctx.idempotencyKey), enforce_nonce: true, allowed_mentions: { parse: [] } },
        signal: ctx.signal,
      }),
    )) as { id?: string };
    return { statusCode: 200, messageId: message.id };
  },
});

function safeId(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
