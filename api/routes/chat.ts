/**
 * Chat platforms: the inbound endpoints each platform calls (`POST /chat/<platform>/:robotId`, authenticated by the
 * platform's own signature over the raw body, so added before the credentials middleware and the JSON parser, with
 * a raw body parser of their own), and a robot's integrations (`/api/robots/:id/integrations`, with credentials).
 */
import express, { type Request } from 'express';
import { z } from 'zod';
import { CHAT_PLATFORMS, ChatPlatform, IntegrationStatus, type ChatPlatform as Platform } from '../../contracts/chat';
import { RobotId } from '../../contracts/common';
import { ConnectIntegrationBody, type IntegrationService } from '../chat/integrations';
import { route, withStatus, type RouteDef } from '../http/route';
import type { ReceiveChat } from '../use-cases/receive-chat';

const RobotParams = z.object({ robotId: RobotId }).strict();
const IntegrationParams = z.object({ id: RobotId, platform: ChatPlatform }).strict();
const IdParams = z.object({ id: RobotId }).strict();
/** A platform the robot can be connected to: where it would send its requests, and what to set up there. */
const PlatformOffer = z.object({ platform: ChatPlatform, inboundUrl: z.string(), setup: z.string() });

/** What each platform's endpoint checks and answers. */
const INBOUND: Record<Platform, { summary: string; description: string }> = {
  telegram: {
    summary: 'Telegram webhook (updates: messages, inline-keyboard clicks)',
    description: 'Verified by `X-Telegram-Bot-Api-Secret-Token` (the secret token connecting gave setWebhook). Answers 200 at once; 401 for a missing or wrong token.',
  },
  slack: {
    summary: 'Slack Events API and interactivity (one URL for both)',
    description:
      'Verified by `X-Slack-Signature` (v0 HMAC-SHA256 with the signing secret over `v0:<X-Slack-Request-Timestamp>:<raw body>`, timestamp within 5 minutes). Answers `url_verification` with its challenge and everything else with 200 at once (Slack waits 3 s); 401 for a missing, wrong or stale signature.',
  },
  discord: {
    summary: 'Discord Interactions endpoint (slash commands, buttons)',
    description:
      'Verified by `X-Signature-Ed25519` over `<X-Signature-Timestamp><raw body>` with the application\'s public key (timestamp within 5 minutes). PING → PONG; a command → a channel message; a button → deferred update; 401 for a missing or wrong signature.',
  },
  lark: {
    summary: 'Lark / Feishu event subscription and card callbacks',
    description:
      'With an Encrypt Key: `X-Lark-Signature` (SHA-256 of timestamp + nonce + encrypt key + raw body, timestamp within 5 minutes) and the encrypted body; always the Verification Token. `url_verification` → the challenge; events → 200 at once; 401 otherwise.',
  },
  dingtalk: {
    summary: 'DingTalk robot callback (HTTP mode)',
    description: 'Verified by the `timestamp` and `sign` headers (Base64 HMAC-SHA256 with the AppSecret over `<timestamp>\\n<AppSecret>`, timestamp within an hour). 200 at once; 401 otherwise.',
  },
};

/** The origin the request came to, for inbound URLs when MC_PUBLIC_URL is not set. */
const originOf = (req: Request) => `${req.protocol}://${req.get('host')}`;

export function chatInboundRoutes(receiveChat: ReceiveChat, maxBody: string): RouteDef[] {
  return CHAT_PLATFORMS.map((platform) =>
    route(
      {
        method: 'post',
        path: `/chat/${platform}/:robotId`,
        tag: 'chat',
        summary: INBOUND[platform].summary,
        description: `${INBOUND[platform].description} A robot without this integration answers 401 too.`,
        access: 'platform',
        params: RobotParams,
        rawBody: { contentType: 'application/json', schema: z.unknown(), description: 'The platform\'s request, exactly as sent (the signature is over these bytes); Slack\'s interactivity comes form-encoded' },
        middleware: [express.raw({ type: () => true, limit: maxBody })],
        responses: { 200: 'Acknowledged (the platform\'s expected answer: empty, a challenge, or an interaction response)' },
        raw: true,
      },
      async ({ params, req, res }) => {
        const reply = await receiveChat({ platform, robotId: params.robotId, body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers: req.headers });
        if (reply.body === undefined) res.status(reply.status).end();
        else res.status(reply.status).json(reply.body);
      },
    ),
  );
}

export function integrationRoutes(integrations: IntegrationService): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/api/robots/:id/integrations',
        tag: 'chat',
        summary: 'A robot\'s chat integrations and how they are doing',
        description:
          'Per connected platform: the settings (credential names only), whether every credential is set, the inbound URL to paste into the platform, conversations, the last event and the last error. `platforms`: every platform the API can connect, with the inbound URL it would use and what to set up there.',
        params: IdParams,
        responses: {
          200: ['The integrations', z.object({ integrations: z.array(IntegrationStatus), platforms: z.array(PlatformOffer) })],
          404: 'No robot with this id',
        },
      },
      async ({ params, req }) => {
        const origin = originOf(req);
        const list = await integrations.list(params.id, origin);
        return { integrations: list, platforms: CHAT_PLATFORMS.map((platform) => integrations.offer(params.id, platform, origin)) };
      },
    ),
    route(
      {
        method: 'put',
        path: '/api/robots/:id/integrations/:platform',
        tag: 'chat',
        summary: 'Connect a chat platform (paste its credentials)',
        description:
          'The secrets are stored encrypted as credentials named `<robot id>-<platform>-<field>` and never returned; the robot\'s definition gets the integration with their names (a new version). A worker then checks the bot with the platform and sets up what it can (Telegram: the webhook with a generated secret token; Discord: the /ask, /cancel, /approve, /reject, /revise commands); `check` says how that went.',
        params: IntegrationParams,
        // Validated by the platform's own schema in the service, so that a 400 names the field of that platform.
        rawBody: { contentType: 'application/json', schema: ConnectIntegrationBody, description: 'The platform\'s secrets and settings' },
        responses: {
          200: ['Connected', z.object({ status: IntegrationStatus, check: z.object({ ok: z.boolean(), detail: z.string() }) })],
          400: 'A field is missing or wrong (`error` names it)',
          404: 'No robot with this id',
        },
      },
      ({ params, req }) => integrations.connect(params.id, params.platform, req.body, originOf(req)),
    ),
    route(
      {
        method: 'get',
        path: '/api/robots/:id/integrations/:platform',
        tag: 'chat',
        summary: 'One chat integration and how it is doing',
        params: IntegrationParams,
        responses: { 200: ['The integration', IntegrationStatus], 404: 'No robot with this id, or no such integration' },
      },
      ({ params, req }) => integrations.get(params.id, params.platform, originOf(req)),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/integrations/:platform/test',
        tag: 'chat',
        summary: 'Test a chat integration: a worker asks the platform who the bot is',
        params: IntegrationParams,
        responses: {
          200: ['What the platform said (`ok: false` with the reason when the credentials do not work)', z.object({ ok: z.boolean(), detail: z.string() })],
          404: 'No robot with this id, or no such integration',
          503: 'No worker answered in time',
        },
      },
      ({ params, req }) => integrations.test(params.id, params.platform, originOf(req)),
    ),
    route(
      {
        method: 'delete',
        path: '/api/robots/:id/integrations/:platform',
        tag: 'chat',
        summary: 'Disconnect a chat platform',
        description: 'Removes the integration from the definition and deletes the credentials connecting stored for it (Telegram: the webhook is removed first, when a worker is there).',
        params: IntegrationParams,
        responses: { 200: ['Disconnected', z.object({ platform: ChatPlatform, disconnected: z.literal(true), detail: z.string() })], 404: 'No robot with this id, or no such integration' },
      },
      ({ params }) => integrations.disconnect(params.id, params.platform).then((r) => withStatus(200, r)),
    ),
  ];
}
