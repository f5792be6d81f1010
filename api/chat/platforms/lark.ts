/**
 * Lark / Feishu event subscription (messages, `im.message.receive_v1`) and card callbacks (`card.action.trigger`), at
 * one URL. With an Encrypt Key, Lark encrypts the body and signs every request: `X-Lark-Signature` = SHA-256 hex of
 * `<X-Lark-Request-Timestamp><X-Lark-Request-Nonce><encrypt key><raw body>`; it must match and the timestamp be
 * within 5 minutes (401 otherwise). The body is decrypted with the official SDK's AESCipher. Every event's
 * Verification Token (`header.token`, or `token` in v1 and url_verification) must match too (401). The SDK's
 * own dispatcher is not used for the checks: it signs `JSON.stringify` of the parsed body rather than the bytes
 * received, and checks nothing when no Encrypt Key is set. `url_verification` → the challenge.
 */
import { createHash } from 'node:crypto';
import { AESCipher } from '@larksuiteoapi/node-sdk';
import { decodeButton } from '../../../contracts/chat';
import { InvalidSignature } from '../../errors';
import { sameSecret } from '../compare';
import { defineInbound, header, OK, type InboundEvent } from '../types';

const TOLERANCE_SECONDS = 5 * 60;

/** `@_user_1 hello` → `hello` (Lark puts mention placeholders in the text). */
const withoutMentions = (text: string) => text.replace(/@_user_\d+/g, '').trim();

export const larkInbound = defineInbound({
  platform: 'lark',
  async receive(req, integration, secret) {
    const raw = req.body.toString('utf8');
    let body = JSON.parse(raw);
    const encryptKey = integration.encryptKey ? await secret(integration.encryptKey) : undefined;
    // Lark's URL check (url_verification) may come unsigned, plain or encrypted: its Verification Token is checked below.
    const unsignedChallenge = body.type === 'url_verification' || (!!encryptKey && typeof body.encrypt === 'string' && !req.headers['x-lark-signature'] && isChallenge(body, encryptKey));
    if (encryptKey && !unsignedChallenge) {
      const timestamp = header(req.headers, 'x-lark-request-timestamp');
      const nonce = header(req.headers, 'x-lark-request-nonce') ?? '';
      const signature = header(req.headers, 'x-lark-signature');
      const expected = createHash('sha256').update(`${timestamp}${nonce}${encryptKey}`).update(req.body).digest('hex');
      if (!signature || !timestamp || !sameSecret(signature, expected)) throw new InvalidSignature('missing or wrong X-Lark-Signature');
      if (!/^\d{1,12}$/.test(timestamp) || Math.abs(req.now / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) throw new InvalidSignature('stale request (X-Lark-Request-Timestamp)');
    }
    if (typeof body.encrypt === 'string') {
      if (!encryptKey) throw new InvalidSignature('an encrypted event, but the integration has no Encrypt Key');
      try {
        body = JSON.parse(new AESCipher(encryptKey).decrypt(body.encrypt));
      } catch {
        throw new InvalidSignature('the event does not decrypt with the Encrypt Key');
      }
    }
    const token = body.header?.token ?? body.token;
    if (!sameSecret(typeof token === 'string' ? token : undefined, await secret(integration.verificationToken))) throw new InvalidSignature('wrong Verification Token');

    if (body.type === 'url_verification') return { reply: { status: 200, body: { challenge: body.challenge } }, events: [] };
    const type = body.header?.event_type;
    const e = body.event ?? {};
    const events: InboundEvent[] = [];
    if (type === 'im.message.receive_v1' && e.message?.message_type === 'text' && e.sender?.sender_type !== 'app') {
      const text = withoutMentions(String(JSON.parse(e.message.content ?? '{}').text ?? ''));
      const openId = e.sender?.sender_id?.open_id;
      if (text && openId) {
        events.push({
          eventId: `lark-${body.header.event_id}`,
          user: { id: openId },
          chat: { id: e.message.chat_id, kind: e.message.chat_type === 'p2p' ? 'private' : 'group' },
          text,
        });
      }
    }
    if (type === 'card.action.trigger') {
      const value = e.action?.value?.mc;
      const button = typeof value === 'string' ? decodeButton(value) : undefined;
      const openId = e.operator?.open_id;
      const chatId = e.context?.open_chat_id;
      if (button && openId && chatId) {
        const clickId = `lark-${body.header.event_id}`;
        events.push({ eventId: clickId, user: { id: openId }, chat: { id: chatId, kind: 'group' }, action: { ...button, clickId, messageId: e.context?.open_message_id }, ack: { userId: openId } });
      }
    }
    return { reply: OK, events };
  },
});

/** Lark's url_verification may come encrypted and unsigned: decrypt to see. */
function isChallenge(body: { encrypt?: string }, encryptKey: string): boolean {
  try {
    return JSON.parse(new AESCipher(encryptKey).decrypt(body.encrypt)).type === 'url_verification';
  } catch {
    return false;
  }
}
