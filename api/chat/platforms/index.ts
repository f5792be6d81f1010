/** The inbound registry: one file per platform, one line here (its outbound side is activities/chat/platforms/). */
import type { ChatPlatform } from '../../../contracts/chat';
import type { ChatInboundDefinition } from '../types';
import { dingtalkInbound } from './dingtalk';
import { discordInbound } from './discord';
import { larkInbound } from './lark';
import { slackInbound } from './slack';
import { telegramInbound } from './telegram';

export const CHAT_INBOUND: { [P in ChatPlatform]: ChatInboundDefinition<P> } = {
  telegram: telegramInbound,
  slack: slackInbound,
  discord: discordInbound,
  lark: larkInbound,
  dingtalk: dingtalkInbound,
};
