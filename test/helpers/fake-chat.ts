/**
 * Local stand-ins for the chat platforms' APIs, so the real clients (grammY, @slack/web-api, @discordjs/rest, the
 * Lark SDK, DingTalk's OpenAPI SDK) can be tested without the internet: one HTTP server that answers each
 * platform's methods in its own shape and checks each platform's token its own way, recording every call. Plus what
 * the platforms do on their side of an inbound request: sign it (Slack v0, Discord Ed25519, Lark's encryption and
 * signature, DingTalk's sign), so tests send exactly what the platform would.
 */
import { createCipheriv, createHash, createHmac, generateKeyPairSync, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ChatCall {
  platform: 'telegram' | 'slack' | 'discord' | 'lark' | 'dingtalk';
  method: string;
  body: any;
  raw: string;
  headers: http.IncomingHttpHeaders;
}

export interface ChatTokens {
  telegram: string;
  slack: string;
  discord: string;
  lark: { appId: string; appSecret: string };
  dingtalk: { appKey: string; appSecret: string };
}

export interface FakeChat {
  url: string;
  telegramApiUrl: string;
  slackApiUrl: string;
  discordApiUrl: string;
  larkApiUrl: string;
  dingtalkApiUrl: string;
  calls: ChatCall[];
  /** Calls refused for a wrong token. */
  refused: string[];
  of(platform: ChatCall['platform'], method?: string): ChatCall[];
  close(): Promise<void>;
}

function readForm(raw: string): any {
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    try {
      out[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
    } catch {
      out[k] = v;
    }
  }
  return out;
}

export async function startFakeChat(tokens: ChatTokens): Promise<FakeChat> {
  const calls: ChatCall[] = [];
  const refused: string[] = [];
  let seq = 100;
  const larkTenantToken = `t-${randomBytes(8).toString('hex')}`;
  const dingAccessToken = `d-${randomBytes(8).toString('hex')}`;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      let body: any = {};
      try {
        body = type.includes('json') ? JSON.parse(raw || '{}') : type.includes('urlencoded') ? readForm(raw) : { raw };
      } catch {
        body = { raw };
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      const json = (status: number, payload: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      const record = (platform: ChatCall['platform'], method: string) => calls.push({ platform, method, body, raw, headers: req.headers });
      seq++;

      const tg = /^\/telegram\/bot([^/]+)\/(\w+)$/.exec(path);
      if (tg) {
        if (decodeURIComponent(tg[1]) !== tokens.telegram) {
          refused.push('telegram');
          return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
        }
        record('telegram', tg[2]);
        const message = { message_id: seq, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id) || 0, type: 'private' }, text: body.text };
        if (tg[2] === 'getMe') return json(200, { ok: true, result: { id: 4242, is_bot: true, first_name: 'Robot', username: 'mc_test_bot' } });
        if (['setWebhook', 'deleteWebhook', 'answerCallbackQuery'].includes(tg[2])) return json(200, { ok: true, result: true });
        return json(200, { ok: true, result: message });
      }

      if (path.startsWith('/slack/api/')) {
        const method = path.slice('/slack/api/'.length);
        if (req.headers.authorization !== `Bearer ${tokens.slack}`) {
          refused.push('slack');
          return json(200, { ok: false, error: 'invalid_auth' });
        }
        record('slack', method);
        if (method === 'auth.test') return json(200, { ok: true, user: 'mc-robot', team: 'Test team', user_id: 'UROBOT' });
        if (method === 'chat.postEphemeral') return json(200, { ok: true, message_ts: `1700000001.${seq}` });
        return json(200, { ok: true, channel: body.channel, ts: method === 'chat.update' ? body.ts : `1700000000.${String(seq).padStart(6, '0')}` });
      }

      if (path.startsWith('/discord/v10/')) {
        const method = `${req.method} ${path.slice('/discord/v10'.length)}`;
        if (req.headers.authorization !== `Bot ${tokens.discord}`) {
          refused.push('discord');
          return json(401, { message: '401: Unauthorized', code: 0 });
        }
        record('discord', method);
        if (path.endsWith('/users/@me')) return json(200, { id: '777', username: 'mc-robot' });
        if (req.method === 'PUT') return json(200, body);
        const id = /\/messages\/(\d+)$/.exec(path)?.[1] ?? `9900000000${seq}`;
        return json(200, { id, content: body.content });
      }

      if (path.startsWith('/lark/open-apis/')) {
        const method = `${req.method} ${path.slice('/lark/open-apis'.length)}`;
        if (method === 'POST /auth/v3/tenant_access_token/internal') {
          if (body.app_id !== tokens.lark.appId || body.app_secret !== tokens.lark.appSecret) {
            refused.push('lark');
            return json(200, { code: 10014, msg: 'app secret invalid' });
          }
          return json(200, { code: 0, msg: 'ok', tenant_access_token: larkTenantToken, expire: 7200 });
        }
        if (req.headers.authorization !== `Bearer ${larkTenantToken}`) {
          refused.push('lark');
          return json(400, { code: 99991663, msg: 'invalid access token' });
        }
        record('lark', method);
        if (method === 'GET /bot/v3/info') return json(200, { code: 0, msg: 'ok', bot: { app_name: 'MC robot', open_id: 'ou_bot' } });
        return json(200, { code: 0, msg: 'success', data: { message_id: `om_${seq}` } });
      }

      if (path.startsWith('/v1.0/')) {
        if (path === '/v1.0/oauth2/accessToken') {
          if (body.appKey !== tokens.dingtalk.appKey || body.appSecret !== tokens.dingtalk.appSecret) {
            refused.push('dingtalk');
            return json(400, { code: 'invalidClientSecret', message: 'bad secret' });
          }
          return json(200, { accessToken: dingAccessToken, expireIn: 7200 });
        }
        if (req.headers['x-acs-dingtalk-access-token'] !== dingAccessToken) {
          refused.push('dingtalk');
          return json(401, { code: 'InvalidAuthentication', message: 'bad token' });
        }
        record('dingtalk', path);
        return json(200, { processQueryKey: `pq-${seq}` });
      }
      json(404, { ok: false, error: `no fake for ${req.method} ${path}` });
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    telegramApiUrl: `${url}/telegram`,
    slackApiUrl: `${url}/slack/api/`,
    discordApiUrl: `${url}/discord`,
    larkApiUrl: `${url}/lark`,
    dingtalkApiUrl: url,
    calls,
    refused,
    of: (platform, method) => calls.filter((c) => c.platform === platform && (!method || c.method === method)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---- what the platforms do on their side: signing inbound requests ------------------------------------------------

/** Slack: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function slackHeaders(body: string, signingSecret: string, ts = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': `v0=${createHmac('sha256', signingSecret).update(`v0:${ts}:${body}`).digest('hex')}`,
  };
}

/** A Discord application's key pair: the public key as the developer portal shows it (hex), and a signer. */
export function discordKeys(): { publicKey: string; headers(body: string, ts?: number): Record<string, string>; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    publicKey: raw.toString('hex'),
    privateKey,
    headers(body, ts = Math.floor(Date.now() / 1000)) {
      const signature = edSign(null, Buffer.from(`${ts}${body}`), privateKey).toString('hex');
      return { 'x-signature-ed25519': signature, 'x-signature-timestamp': String(ts) };
    },
  };
}

/** Lark: the body encrypted with the Encrypt Key (AES-256-CBC, key SHA-256 of it, IV first) and signed. */
export function larkRequest(event: unknown, encryptKey: string, ts = Math.floor(Date.now() / 1000)): { body: string; headers: Record<string, string> } {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(encryptKey).digest(), iv);
  const encrypted = Buffer.concat([iv, cipher.update(JSON.stringify(event), 'utf8'), cipher.final()]).toString('base64');
  const body = JSON.stringify({ encrypt: encrypted });
  const nonce = randomBytes(8).toString('hex');
  const signature = createHash('sha256').update(`${ts}${nonce}${encryptKey}${body}`).digest('hex');
  return { body, headers: { 'x-lark-request-timestamp': String(ts), 'x-lark-request-nonce': nonce, 'x-lark-signature': signature } };
}

/** DingTalk: `timestamp` in ms and `sign` = Base64 HMAC-SHA256(secret, "<timestamp>\n<secret>"). */
export function dingtalkHeaders(appSecret: string, ts = Date.now()): Record<string, string> {
  return { timestamp: String(ts), sign: createHmac('sha256', appSecret).update(`${ts}\n${appSecret}`).digest('base64') };
}
