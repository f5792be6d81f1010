/**
 * Discord through discord.js's REST client (@discordjs/rest, at MC_DISCORD_API_URL; retries off, rate limits
 * rejected so Temporal retries after the reset), as the `discord` delivery destination: channel messages with
 * button components, edits, `GET /users/@me`, and connecting registers the application's `/ask` and `/cancel`
 * commands (bulk overwrite). Interactions are answered by the API within Discord's 3 s; everything after that is a
 * bot message here, so no interaction token (a secret for 15 minutes) ever enters a workflow.
 */
import type { ChatButton } from '../../../contracts/chat';
import { discordCall as call, discordRest } from '../../net/discord';
import { definePlatform } from '../types';

/** Discord button styles: primary 1, secondary 2, danger 4. */
const components = (buttons?: ChatButton[]) =>
  buttons?.length
    ? [{ type: 1, components: buttons.map((b) => ({ type: 2, style: b.style === 'primary' ? 1 : b.style === 'danger' ? 4 : 2, label: b.label, custom_id: b.value })) }]
    : [];

/** The commands people use in a channel (the Interactions endpoint receives slash commands, not plain messages). */
export const DISCORD_COMMANDS = [
  { name: 'ask', description: 'Ask the robot (a new task, or an answer to its question)', options: [{ type: 3, name: 'text', description: 'What to say', required: true }] },
  { name: 'cancel', description: 'Cancel the run going on in this channel' },
  { name: 'approve', description: 'Approve at the gate the run waits at (approvers only)' },
  { name: 'reject', description: 'Reject at the gate (approvers only)', options: [{ type: 3, name: 'reason', description: 'Why', required: false }] },
  { name: 'revise', description: 'Send the work back with feedback (approvers only)', options: [{ type: 3, name: 'feedback', description: 'What should change', required: true }] },
];

export const discordPlatform = definePlatform({
  platform: 'discord',
  async client(integration, ctx) {
    const rest = discordRest(ctx.config, await ctx.credential(integration.botToken));
    const { signal } = ctx;
    const post = async (channel: string, body: unknown) => (await call('the message', signal, () => rest.post(`/channels/${channel}/messages`, { body, signal }))) as { id: string };
    return {
      limit: 2000,
      async send(chat, m) {
        return (await post(chat.id, { content: m.text, components: components(m.buttons), allowed_mentions: { parse: [] } })).id;
      },
      async edit(chat, messageId, m) {
        await call('the edit', signal, () => rest.patch(`/channels/${chat.id}/messages/${messageId}`, { body: { content: m.text, components: components(m.buttons) }, signal }));
      },
      async ack(chat, ack, text) {
        // A deferred component interaction has no private answer without its token: say it in the channel, to the clicker.
        await post(chat.id, { content: ack.userId ? `<@${ack.userId}> ${text}` : text, allowed_mentions: { users: ack.userId ? [ack.userId] : [] } });
      },
      async check() {
        const me = (await call('GET /users/@me', signal, () => rest.get('/users/@me', { signal }))) as { username: string; id: string };
        return `Discord bot ${me.username} (${me.id})`;
      },
      async connect() {
        await call('the command registration', signal, () => rest.put(`/applications/${integration.applicationId}/commands`, { body: DISCORD_COMMANDS, signal }));
        return `registered the commands ${DISCORD_COMMANDS.map((c) => `/${c.name}`).join(', ')}`;
      },
    };
  },
});
