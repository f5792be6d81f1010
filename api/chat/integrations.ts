/**
 * A robot's chat integrations over the API (`/api/robots/:id/integrations`): connect (paste the platform's secrets:
 * they are stored encrypted as credentials named after the robot, and the definition keeps only the names), test
 * (a worker asks the platform who the bot is), disconnect, and the status the page shows — connected, the inbound
 * URL to paste, conversations, last event and last error (from the conversations' memos in Temporal visibility, so
 * no worker is needed to read it).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import {
  CHAT_PLATFORMS,
  ChatPlatform,
  inboundPath,
  integrationCredentials,
  PLATFORM_SETUP,
  type ChatConversationMemo,
  type ChatIntegration,
  type IntegrationStatus,
} from '../../contracts/chat';
import { credentialEnvName } from '../../contracts/delivery';
import type { ChatIntegrationTaskResult } from '../../contracts/messages';
import type { Config } from '../../lib/config';
import type { CredentialStore } from '../../lib/credentials';
import { createLogger } from '../../lib/log';
import { chatIntegrationWorkflow } from '../../workflows';
import { NotFound, Unavailable } from '../errors';
import { named } from '../http/openapi';
import type { RobotService } from '../robots/service';
import type { RobotStore } from '../robots/store';

const log = createLogger('integrations');

// `format: password` tells forms (the page's among them) to obscure the field.
const Secret = (what: string) => z.string().trim().min(1).max(4096).describe(`${what}: stored encrypted, never returned`).openapi({ format: 'password' });
const Users = z.array(z.string().trim().min(1).max(128)).max(200);
const common = {
  approvers: Users.optional().describe('Platform user ids who may decide at gates and cancel any run from the chat'),
  users: Users.optional().describe('Platform user ids who may talk to the robot (absent: anyone who can message the bot)'),
};

/**
 * What connecting takes, per platform: the secrets themselves (stored as credentials) and the settings. Each body's
 * `title` in the OpenAPI document is its platform, so a form can tell the variants of the union apart.
 */
export const CONNECT_BODIES = {
  telegram: z.object({ botToken: Secret('The bot token from @BotFather'), ...common }).strict().openapi({ title: 'telegram' }),
  slack: z.object({ botToken: Secret('The bot token (xoxb-…)'), signingSecret: Secret('The app\'s signing secret'), ...common }).strict().openapi({ title: 'slack' }),
  discord: z
    .object({
      botToken: Secret('The bot token'),
      applicationId: z.string().regex(/^\d{1,30}$/, 'must be the application id (digits)'),
      publicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the application\'s public key (64 hex digits)'),
      ...common,
    })
    .strict()
    .openapi({ title: 'discord' }),
  lark: z
    .object({
      appId: z.string().trim().min(1).max(100),
      appSecret: Secret('The App Secret'),
      verificationToken: Secret('The event subscription\'s Verification Token'),
      encryptKey: Secret('The event subscription\'s Encrypt Key').optional(),
      ...common,
    })
    .strict()
    .openapi({ title: 'lark' }),
  dingtalk: z.object({ appKey: z.string().trim().min(1).max(100), appSecret: Secret('The app\'s AppSecret'), ...common }).strict().openapi({ title: 'dingtalk' }),
} satisfies Record<ChatPlatform, z.AnyZodObject>;

export const ConnectIntegrationBody = named(
  'ConnectIntegrationBody',
  z.union([CONNECT_BODIES.telegram, CONNECT_BODIES.slack, CONNECT_BODIES.discord, CONNECT_BODIES.lark, CONNECT_BODIES.dingtalk]),
  'The platform\'s secrets and settings (which fields: see the platform in the path)',
);

/** Short codes of the secret fields, for credential names. */
const FIELD_CODE: Record<string, string> = {
  botToken: 'token',
  webhookSecret: 'webhook',
  signingSecret: 'signing',
  appSecret: 'secret',
  verificationToken: 'verify',
  encryptKey: 'encrypt',
};

/** `<robot id>-<platform>-<field>` (robot ids too long for the 63-character limit are shortened with a digest). */
export function integrationCredentialName(robotId: string, platform: ChatPlatform, field: string): string {
  const base = `${robotId}-${platform}-${FIELD_CODE[field] ?? field.toLowerCase()}`;
  if (base.length <= 63) return base;
  return `${robotId.slice(0, 30)}-${createHash('sha256').update(robotId).digest('hex').slice(0, 8)}-${platform}-${FIELD_CODE[field] ?? 'secret'}`;
}

export interface IntegrationServiceDeps {
  client: Client;
  config: Config;
  robots: RobotService;
  store: RobotStore;
  credentials: CredentialStore;
  /** The environment the API resolves credentials from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Told when a credential changed, so cached values are dropped. */
  onCredentialChanged?: (name: string) => void;
}

export class IntegrationService {
  constructor(private readonly deps: IntegrationServiceDeps) {}

  /** Where the platform sends its requests: MC_PUBLIC_URL, else the address this request came to. */
  inboundUrl(robotId: string, platform: ChatPlatform, origin?: string): string {
    const base = (this.deps.config.MC_PUBLIC_URL ?? origin ?? '').replace(/\/$/, '');
    return `${base}${inboundPath(platform, robotId)}`;
  }

  /** A platform as it can be connected: the inbound URL it would use and what to set up on its side. */
  offer(robotId: string, platform: ChatPlatform, origin?: string): { platform: ChatPlatform; inboundUrl: string; setup: string } {
    return { platform, inboundUrl: this.inboundUrl(robotId, platform, origin), setup: PLATFORM_SETUP[platform] };
  }

  private async integration(robotId: string, platform: ChatPlatform): Promise<ChatIntegration> {
    const robot = await this.deps.store.load(robotId);
    const found = robot.integrations?.find((i) => i.platform === platform);
    if (!found) throw new NotFound(`robot ${robotId} has no ${platform} integration`);
    return found;
  }

  async list(robotId: string, origin?: string): Promise<IntegrationStatus[]> {
    const robot = await this.deps.store.load(robotId);
    const stats = await this.conversationStats(robotId);
    return Promise.all((robot.integrations ?? []).map((i) => this.status(robotId, i, stats, origin)));
  }

  async get(robotId: string, platform: ChatPlatform, origin?: string): Promise<IntegrationStatus> {
    return this.status(robotId, await this.integration(robotId, platform), await this.conversationStats(robotId), origin);
  }

  private async status(robotId: string, i: ChatIntegration, stats: Map<ChatPlatform, Stats>, origin?: string): Promise<IntegrationStatus> {
    const env = this.deps.env ?? process.env;
    const names = Object.values(integrationCredentials(i));
    const present = await Promise.all(names.map(async (n) => !!env[credentialEnvName(n)]?.trim() || !!(await this.deps.credentials.info(n))));
    const missing = names.filter((_, k) => !present[k]);
    const s = stats.get(i.platform);
    return {
      platform: i.platform,
      integration: i,
      connected: missing.length === 0,
      missingCredentials: missing,
      inboundUrl: this.inboundUrl(robotId, i.platform, origin),
      setup: PLATFORM_SETUP[i.platform],
      conversations: s?.conversations ?? 0,
      ...(s?.lastEvent ? { lastEvent: s.lastEvent } : {}),
      ...(s?.lastError ? { lastError: s.lastError } : {}),
    };
  }

  /** Per platform: conversations, newest event, newest error (from the conversations' memos). */
  private async conversationStats(robotId: string): Promise<Map<ChatPlatform, Stats>> {
    const out = new Map<ChatPlatform, Stats>();
    const newer = <T extends { at: string }>(a: T | undefined, b: T | undefined) => (!a ? b : !b ? a : a.at >= b.at ? a : b);
    for await (const wf of this.deps.client.workflow.list({ query: `WorkflowType = 'chatConversationWorkflow' AND McRobotId = '${robotId}'` })) {
      const memo = wf.memo?.chat as ChatConversationMemo | undefined;
      if (!memo || !CHAT_PLATFORMS.includes(memo.platform)) continue;
      // A conversation that continued-as-new shows once per run of it; only the open one counts.
      if (wf.status.name !== 'RUNNING') continue;
      const s = out.get(memo.platform) ?? { conversations: 0 };
      s.conversations++;
      s.lastEvent = newer(s.lastEvent, memo.lastEvent);
      s.lastError = newer(s.lastError, memo.lastError);
      out.set(memo.platform, s);
    }
    return out;
  }

  /**
   * Connect (or reconnect) a platform: store the given secrets as the robot's credentials, put the integration in
   * the definition (a new version), then have a worker check the bot and set up what the platform allows (Telegram's
   * webhook with a fresh secret token, Discord's commands). A failed check does not undo the connection: it is
   * reported, and `test` tries again.
   */
  async connect(robotId: string, platform: ChatPlatform, rawBody: unknown, origin?: string): Promise<{ status: IntegrationStatus; check: ChatIntegrationTaskResult }> {
    const body = CONNECT_BODIES[platform].parse(rawBody) as Record<string, unknown>;
    const robot = await this.deps.store.load(robotId);
    const name = (field: string) => integrationCredentialName(robotId, platform, field);
    const secrets: Record<string, string> = {};
    for (const field of Object.keys(FIELD_CODE)) if (typeof body[field] === 'string') secrets[field] = body[field] as string;
    if (platform === 'telegram') secrets.webhookSecret = randomBytes(32).toString('base64url');
    const settings = Object.fromEntries(Object.entries(body).filter(([k]) => !(k in FIELD_CODE)));
    const integration = {
      platform,
      ...settings,
      ...Object.fromEntries(Object.keys(secrets).map((f) => [f, name(f)])),
      approvers: (body.approvers as string[] | undefined) ?? [],
    } as ChatIntegration;
    for (const [field, value] of Object.entries(secrets)) {
      await this.deps.credentials.put(name(field), value, `${platform} ${field} of robot ${robotId}`);
      this.deps.onCredentialChanged?.(name(field));
    }
    const others = (robot.integrations ?? []).filter((i) => i.platform !== platform);
    await this.deps.robots.patch(robotId, { integrations: [...others, integration] });
    const check = await this.onWorker('connect', robotId, integration, origin).catch((err: Error) => ({ ok: false, detail: err.message }));
    return { status: await this.get(robotId, platform, origin), check };
  }

  /** Ask the platform, from a worker, who the bot is (proves the credentials work). */
  async test(robotId: string, platform: ChatPlatform, origin?: string): Promise<ChatIntegrationTaskResult> {
    return this.onWorker('check', robotId, await this.integration(robotId, platform), origin);
  }

  /** Remove the integration and the credentials connecting stored for it (Telegram's webhook is removed first). */
  async disconnect(robotId: string, platform: ChatPlatform): Promise<{ platform: ChatPlatform; disconnected: true; detail: string }> {
    const integration = await this.integration(robotId, platform);
    const detail = await this.onWorker('disconnect', robotId, integration).then(
      (r) => r.detail,
      (err: Error) => `the platform was not told (${err.message})`,
    );
    const robot = await this.deps.store.load(robotId);
    await this.deps.robots.patch(robotId, { integrations: (robot.integrations ?? []).filter((i) => i.platform !== platform) });
    for (const [field, credential] of Object.entries(integrationCredentials(integration))) {
      if (credential === integrationCredentialName(robotId, platform, field)) {
        await this.deps.credentials.delete(credential);
        this.deps.onCredentialChanged?.(credential);
      }
    }
    return { platform, disconnected: true, detail };
  }

  private async onWorker(op: 'check' | 'connect' | 'disconnect', robotId: string, integration: ChatIntegration, origin?: string): Promise<ChatIntegrationTaskResult> {
    const timeout = this.deps.config.MC_GENERATE_TIMEOUT_SECONDS * 1000;
    try {
      return await this.deps.client.withDeadline(Date.now() + timeout, () =>
        this.deps.client.workflow.execute(chatIntegrationWorkflow, {
          taskQueue: this.deps.config.MC_TASK_QUEUE,
          workflowId: `chat-integration-${robotId}-${integration.platform}-${randomUUID()}`,
          args: [{ op, robotId, integration, inboundUrl: this.inboundUrl(robotId, integration.platform, origin) }],
          workflowExecutionTimeout: timeout,
        }),
      );
    } catch (err) {
      log.warn(`integration ${op} failed`, { robotId, platform: integration.platform, error: (err as Error).message });
      throw new Unavailable(`no worker checked the ${integration.platform} integration in time; is a worker running?`);
    }
  }
}

interface Stats {
  conversations: number;
  lastEvent?: { at: string; type: string };
  lastError?: { at: string; message: string };
}

