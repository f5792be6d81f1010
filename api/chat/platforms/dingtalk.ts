/**
 * DingTalk's robot callback (HTTP mode). Each request carries `timestamp` (milliseconds) and `sign` =
 * Base64(HMAC-SHA256(app secret, "<timestamp>\n<app secret>")); DingTalk documents refusing one whose timestamp is
 * more than an hour off. Hand-written (a dozen lines): DingTalk's official Node SDKs are an OpenAPI client and a
 * Stream-mode (WebSocket) client, neither checks HTTP callbacks. A missing, wrong or stale sign is a 401. The event
 * id is the message's `msgId`.
 */
import { createHmac } from 'node:crypto';
import { InvalidSignature } from '../../errors';
import { sameSecret } from '../compare';
import { defineInbound, header, OK } from '../types';

const TOLERANCE_MS = 60 * 60_000;

/** The `sign` DingTalk sends with a callback. */
export const dingtalkSign = (timestamp: string, appSecret: string) => createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`).digest('base64');

export const dingtalkInbound = defineInbound({
  platform: 'dingtalk',
  async receive(req, integration, secret) {
    const timestamp = header(req.headers, 'timestamp');
    const sign = header(req.headers, 'sign');
    if (!timestamp || !sign || !/^\d{1,15}$/.test(timestamp)) throw new InvalidSignature('missing timestamp or sign header');
    if (Math.abs(req.now - Number(timestamp)) > TOLERANCE_MS) throw new InvalidSignature('stale request (timestamp more than an hour off)');
    if (!sameSecret(sign, dingtalkSign(timestamp, await secret(integration.appSecret)))) throw new InvalidSignature('sign does not match');

    const m = JSON.parse(req.body.toString('utf8'));
    const text = typeof m.text?.content === 'string' ? m.text.content.trim() : '';
    const userId = m.senderStaffId ?? m.senderId;
    if (m.msgtype !== 'text' || !text || !userId || !m.conversationId || !m.msgId) return { reply: OK, events: [] };
    const group = String(m.conversationType) === '2';
    return {
      reply: OK,
      events: [
        {
          eventId: `dingtalk-${m.msgId}`,
          user: { id: String(userId), name: m.senderNick },
          chat: group ? { id: m.conversationId, kind: 'group' } : { id: m.conversationId, kind: 'private', userId: String(userId) },
          text,
        },
      ],
    };
  },
});
