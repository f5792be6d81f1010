/**
 * Local stand-ins for the places robots deliver to, so the real client libraries can be tested without the
 * internet: one HTTP server that speaks the Slack Web API (chat.postMessage), the Discord REST API (create message)
 * and the Telegram Bot API (sendMessage), checking each platform's token the platform's way; a real SMTP server
 * (the `smtp-server` library, with authentication) whose mails are parsed by `mailparser`; and a webhook receiver
 * that answers from a script, verifies signatures with our own verifier, and can hold a request open.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { verify } from '../../api/robots/webhook-signature';

export interface PlatformMessage {
  platform: 'slack' | 'discord' | 'telegram';
  /** Channel or chat the message went to. */
  to: string;
  text: string;
  body: any;
  headers: http.IncomingHttpHeaders;
}

export interface FakePlatforms {
  url: string;
  slackApiUrl: string;
  discordApiUrl: string;
  telegramApiUrl: string;
  messages: PlatformMessage[];
  /** Requests refused for a wrong token. */
  refused: string[];
  close(): Promise<void>;
}

function track(server: http.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export async function startFakePlatforms(tokens: { slack: string; discord: string; telegram: string }): Promise<FakePlatforms> {
  const messages: PlatformMessage[] = [];
  const refused: string[] = [];
  let seq = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const type = String(req.headers['content-type'] ?? '');
      const body: any = type.includes('json') ? JSON.parse(raw || '{}') : Object.fromEntries(new URLSearchParams(raw));
      const url = req.url ?? '';
      const json = (status: number, payload: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      seq++;
      if (url.startsWith('/slack/api/chat.postMessage')) {
        if (req.headers.authorization !== `Bearer ${tokens.slack}`) {
          refused.push('slack');
          return json(200, { ok: false, error: 'invalid_auth' });
        }
        messages.push({ platform: 'slack', to: body.channel, text: body.text, body, headers: req.headers });
        return json(200, { ok: true, channel: body.channel, ts: `1700000000.${String(seq).padStart(6, '0')}`, message: { text: body.text } });
      }
      const discord = /^\/discord\/v10\/channels\/(\d+)\/messages$/.exec(url);
      if (discord) {
        if (req.headers.authorization !== `Bot ${tokens.discord}`) {
          refused.push('discord');
          return json(401, { message: '401: Unauthorized', code: 0 });
        }
        messages.push({ platform: 'discord', to: discord[1], text: body.content, body, headers: req.headers });
        return json(200, { id: `11000000000000${seq}`, channel_id: discord[1], content: body.content, nonce: body.nonce });
      }
      const telegram = /^\/telegram\/bot([^/]+)\/sendMessage$/.exec(url);
      if (telegram) {
        if (decodeURIComponent(telegram[1]) !== tokens.telegram) {
          refused.push('telegram');
          return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
        }
        messages.push({ platform: 'telegram', to: String(body.chat_id), text: body.text, body, headers: req.headers });
        return json(200, { ok: true, result: { message_id: seq, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id) || 0, type: 'channel' }, text: body.text } });
      }
      json(404, { ok: false, error: `no fake for ${req.method} ${url}` });
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    slackApiUrl: `${url}/slack/api/`,
    discordApiUrl: `${url}/discord`,
    telegramApiUrl: `${url}/telegram`,
    messages,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedMail {
  from?: string;
  to: string[];
  subject?: string;
  text?: string;
  html?: string;
  messageId?: string;
  user?: string;
}

export interface FakeSmtp {
  port: number;
  mails: ReceivedMail[];
  /** Logins refused for a wrong password. */
  refusedLogins: number;
  close(): Promise<void>;
}

/** A real SMTP server on loopback that requires AUTH (PLAIN/LOGIN over plain TCP, as local test servers do). */
export async function startSmtpServer(login: { user: string; password: string }): Promise<FakeSmtp> {
  const mails: ReceivedMail[] = [];
  const state = { refusedLogins: 0 };
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === login.user && auth.password === login.password) return cb(null, { user: auth.username });
      state.refusedLogins++;
      cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          mails.push({
            from: mail.from?.text,
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject,
            text: mail.text,
            html: typeof mail.html === 'string' ? mail.html : undefined,
            messageId: mail.messageId,
            user: String(session.user ?? ''),
          });
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    get refusedLogins() {
      return state.refusedLogins;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Arrival {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
  /** The signature checked with our webhook verifier (api/robots/webhook-signature.ts), when a secret was given. */
  signatureValid?: boolean;
  /** The status answered; undefined while the request is held, or when the connection died first. */
  answered?: number;
}

export interface ScriptedReceiver {
  url: string;
  port: number;
  arrivals: Arrival[];
  /** Requests answered 2xx: what the receiver accepted. */
  accepted(): Arrival[];
  /** Answer the requests from now on with these statuses, in order (then 200). `hold` keeps a request open. */
  script(statuses: (number | 'hold')[]): void;
  /** Answer the held request (if its connection is still there). */
  release(status?: number): void;
  close(): Promise<void>;
}

export async function startScriptedReceiver(secret?: string): Promise<ScriptedReceiver> {
  const arrivals: Arrival[] = [];
  let queue: (number | 'hold')[] = [];
  let held: { res: http.ServerResponse; arrival: Arrival } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const arrival: Arrival = { path: req.url ?? '/', headers: req.headers, raw, body };
      if (secret) {
        arrival.signatureValid = verify({
          secret,
          body: Buffer.from(raw),
          signature: req.headers['x-mc-signature'] as string | undefined,
          timestamp: req.headers['x-mc-timestamp'] as string | undefined,
          deliveryId: req.headers['x-mc-delivery'] as string | undefined,
        }).ok;
      }
      arrivals.push(arrival);
      const next = queue.shift() ?? 200;
      if (next === 'hold') {
        held = { res, arrival };
        return;
      }
      arrival.answered = next;
      res.writeHead(next, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: next < 300 }));
    });
  });
  const sockets = track(server);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    arrivals,
    accepted: () => arrivals.filter((a) => a.answered !== undefined && a.answered >= 200 && a.answered < 300),
    script(statuses) {
      queue = [...statuses];
    },
    release(status = 200) {
      const h = held;
      held = undefined;
      if (h && !h.res.destroyed) {
        h.arrival.answered = status;
        h.res.writeHead(status).end('{}');
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
