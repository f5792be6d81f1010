/**
 * The shape of a chat platform's client (one file per platform in ./platforms/, one registry line in
 * ./platforms/index.ts): what the conversation's activities need from a platform — send a message (with buttons),
 * edit one, answer a click privately, send a file — plus checking and setting up the bot. Each is built per activity
 * attempt from the integration (credential names) and the credentials resolved on the worker.
 *
 * Failures are delivery failures (../delivery/types.ts): retryable ones (5xx, 429 with the platform's delay, network)
 * are retried by Temporal, final ones (bad token, unknown chat) are not.
 */
import type { ChatAckRef, ChatButton, ChatIntegrationOf, ChatPlatform, ChatRef } from '../../contracts/chat';
import type { Config } from '../../lib/config';

export interface ChatClientContext {
  config: Config;
  signal: AbortSignal;
  /** A credential's value by name (environment `MC_CREDENTIAL_<NAME>`, then the encrypted store). */
  credential(name: string): Promise<string>;
}

export interface OutgoingMessage {
  text: string;
  buttons?: ChatButton[];
}

export interface ChatPlatformClient {
  /** Characters one message may have (longer texts are split, see ./split.ts). */
  limit: number;
  /** Post a message; answers its id. */
  send(chat: ChatRef, message: OutgoingMessage): Promise<string>;
  /** Replace a message the bot sent (its buttons go unless given again). Platforms that cannot edit throw. */
  edit(chat: ChatRef, messageId: string, message: OutgoingMessage): Promise<void>;
  /** Answer a click: privately where the platform can (a toast, an ephemeral message), else in the chat. */
  ack(chat: ChatRef, ack: ChatAckRef, text: string): Promise<void>;
  /** Send a long text as a file, where the platform has files for bots. */
  sendFile?(chat: ChatRef, name: string, content: string, caption: string): Promise<string>;
  /** Who the bot is, from the platform (proves the credentials work). */
  check(): Promise<string>;
  /** What connecting sets up on the platform (a webhook, commands), if anything. */
  connect?(inboundUrl: string): Promise<string>;
  disconnect?(): Promise<string>;
}

export interface ChatPlatformDefinition<P extends ChatPlatform> {
  platform: P;
  client(integration: ChatIntegrationOf<P>, ctx: ChatClientContext): Promise<ChatPlatformClient>;
}

export const definePlatform = <P extends ChatPlatform>(d: ChatPlatformDefinition<P>): ChatPlatformDefinition<P> => d;
