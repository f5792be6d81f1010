/**
 * The chat platform registry: a new platform is one file plus one line here (and its integration schema in
 * contracts/chat.ts, which the compiler checks against this map; its inbound side is api/chat/).
 */
import type { ChatPlatform } from '../../../contracts/chat';
import type { ChatPlatformDefinition } from '../types';
import { dingtalkPlatform } from './dingtalk';
import { discordPlatform } from './discord';
import { larkPlatform } from './lark';
import { slackPlatform } from './slack';
import { telegramPlatform } from './telegram';

export const CHAT_PLATFORM_CLIENTS: { [P in ChatPlatform]: ChatPlatformDefinition<P> } = {
  telegram: telegramPlatform,
  slack: slackPlatform,
  discord: discordPlatform,
  lark: larkPlatform,
  dingtalk: dingtalkPlatform,
};
