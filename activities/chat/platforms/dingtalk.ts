/**
 * DingTalk through the official OpenAPI SDK (@alicloud/dingtalk: `oauth2_1_0` for the access token from AppKey and
 * AppSecret, `robot_1_0` for messages), at MC_DINGTALK_API_URL. Group chats get `groupMessages/send` with the
 * conversation id, one-to-one chats `oToMessages/batchSend` to the person; both as Markdown. DingTalk's robot
 * messages cannot be edited and have no buttons that call back: the conversation posts few messages there, and
 * people answer gates with /approve, /reject and /revise. The callback's `sessionWebhook` (a URL that can post to
 * the chat for an hour and a half) is never used, so no such capability enters a workflow.
 */
import * as OpenApi from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import OAuth2, * as oauth from '@alicloud/dingtalk/dist/oauth2_1_0/client';
import Robot, * as robot from '@alicloud/dingtalk/dist/robot_1_0/client';
import { deliveryFailure, retryableStatus } from '../../delivery/types';
import type { ChatRef } from '../../../contracts/chat';
import { definePlatform, type OutgoingMessage } from '../types';

/** Access tokens by AppKey, reused until a minute before they expire (they last two hours). */
const tokens = new Map<string, { token: string; until: number }>();

function sdkConfig(base: string): OpenApi.Config {
  const url = new URL(base);
  return new OpenApi.Config({ protocol: url.protocol.replace(':', ''), endpoint: url.host, regionId: 'central' });
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; data?: { statusCode?: number } };
    const status = e.statusCode ?? e.data?.statusCode;
    if (status) throw deliveryFailure(`DingTalk answered HTTP ${status} to ${what}${e.code ? ` (${e.code})` : ''}`, { retryable: retryableStatus(status), statusCode: status });
    throw deliveryFailure(`DingTalk could not be reached for ${what}`, { retryable: true });
  }
}

export const dingtalkPlatform = definePlatform({
  platform: 'dingtalk',
  async client(integration, ctx) {
    const config = () => sdkConfig(ctx.config.MC_DINGTALK_API_URL);
    const runtime = new RuntimeOptions({ readTimeout: ctx.config.MC_DELIVERY_TIMEOUT_MS, connectTimeout: ctx.config.MC_DELIVERY_TIMEOUT_MS });
    const appSecret = await ctx.credential(integration.appSecret);
    async function accessToken(): Promise<string> {
      const cached = tokens.get(integration.appKey);
      if (cached && cached.until > Date.now()) return cached.token;
      const res = await call('the access token', () => new OAuth2(config()).getAccessToken(new oauth.GetAccessTokenRequest({ appKey: integration.appKey, appSecret })));
      const token = res.body?.accessToken;
      if (!token) throw deliveryFailure('DingTalk gave no access token', { retryable: false });
      tokens.set(integration.appKey, { token, until: Date.now() + Math.max(60, (res.body?.expireIn ?? 7200) - 60) * 1000 });
      return token;
    }
    async function send(chat: ChatRef, m: OutgoingMessage): Promise<string> {
        const token = await accessToken();
        const client = new Robot(config());
        const msgParam = JSON.stringify({ title: m.text.split('\n')[0].slice(0, 60), text: m.text });
        if (chat.kind === 'private' && chat.userId) {
          const res = await call('the message', () =>
            client.batchSendOTOWithOptions(
              new robot.BatchSendOTORequest({ robotCode: integration.appKey, userIds: [chat.userId as string], msgKey: 'sampleMarkdown', msgParam }),
              new robot.BatchSendOTOHeaders({ xAcsDingtalkAccessToken: token }),
              runtime,
            ),
          );
          return res.body?.processQueryKey ?? '';
        }
        const res = await call('the message', () =>
          client.orgGroupSendWithOptions(
            new robot.OrgGroupSendRequest({ robotCode: integration.appKey, openConversationId: chat.id, msgKey: 'sampleMarkdown', msgParam }),
            new robot.OrgGroupSendHeaders({ xAcsDingtalkAccessToken: token }),
            runtime,
          ),
        );
        return res.body?.processQueryKey ?? '';
    }
    return {
      limit: 5000,
      send,
      async edit() {
        throw deliveryFailure('DingTalk robot messages cannot be edited', { retryable: false });
      },
      async ack(chat, ack, text) {
        await send(chat, { text: ack.userId ? `@${ack.userId} ${text}` : text });
      },
      async check() {
        await accessToken();
        return `DingTalk app ${integration.appKey}: access token obtained`;
      },
    };
  },
});
