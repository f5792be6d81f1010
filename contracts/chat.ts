/**
 * Chat: people talk to a robot from Telegram, Slack, Discord, Lark (Feishu) and DingTalk. What is shared by the
 * layers, defined once:
 *
 * - the **integrations** of a robot definition (`integrations`), one per platform: the settings of its bot and the
 *   *names* of the credentials that hold its secrets (bot tokens, signing secrets, app secrets). As with delivery,
 *   a secret is never in a definition, a workflow input, a history or an API answer: the API resolves the
 *   verification secrets when a request arrives, the worker resolves the bot tokens when it sends;
 * - what the API hands the conversation workflow for each inbound event (`ChatInbound`): already verified and
 *   normalised, whatever the platform;
 * - what a run tells its conversation when it moves (`ChatRunNotice`), and the conversation's own state;
 * - the integration status the page shows (`IntegrationStatus`).
 *
 * One chat thread is one conversation: an entity workflow (`chatConversationWorkflow`, id from
 * `conversationWorkflowId`) that continues-as-new, so a conversation survives restarts of every process.
 */
import { z } from 'zod';
import { Actor, Id, IsoTime, MAX_TEXT } from './common';
import { CredentialName } from './delivery';
import { RunInput } from './run';

export const CHAT_PLATFORMS = ['telegram', 'slack', 'discord', 'lark', 'dingtalk'] as const;
export const ChatPlatform = z.enum(CHAT_PLATFORMS);
export type ChatPlatform = z.infer<typeof ChatPlatform>;

const credential = (what: string) => CredentialName.describe(`Name of the credential holding ${what} (never the secret itself)`);

/** Platform user ids (as the platform gives them) allowed to do something; see each field. */
const UserIds = z.array(z.string().trim().min(1).max(128)).max(200);

/** Settings every integration has. */
const common = {
  /**
   * Chat users (platform user ids) who may decide at approval gates from the chat (Approve / Send back / Reject)
   * and cancel any run of the thread. Empty: nobody may decide from the chat.
   */
  approvers: UserIds.default([]).describe('Platform user ids who may decide at gates (buttons, /approve, /reject, /revise) and cancel any run from the chat'),
  /** Chat users who may talk to the robot at all. Absent: whoever can message the bot. */
  users: UserIds.optional().describe('Platform user ids who may talk to the robot; absent: anyone who can message the bot'),
};

export const TelegramIntegration = z
  .object({
    platform: z.literal('telegram'),
    botToken: credential('the bot token from @BotFather'),
    /** Telegram sends it back in `X-Telegram-Bot-Api-Secret-Token` on every webhook request (setWebhook's secret_token). */
    webhookSecret: credential('the webhook secret token (setWebhook secret_token)'),
    ...common,
  })
  .strict();

export const SlackIntegration = z
  .object({
    platform: z.literal('slack'),
    botToken: credential('the bot token (xoxb-…)'),
    signingSecret: credential('the app\'s signing secret'),
    ...common,
  })
  .strict();

export const DiscordIntegration = z
  .object({
    platform: z.literal('discord'),
    botToken: credential('the bot token'),
    applicationId: z.string().regex(/^\d{1,30}$/, 'must be the application id (digits)'),
    /** Public by design (Discord shows it on the app's page): the Ed25519 key requests are verified with. */
    publicKey: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the application\'s public key (64 hex digits)'),
    ...common,
  })
  .strict();

export const LarkIntegration = z
  .object({
    platform: z.literal('lark'),
    appId: z.string().trim().min(1).max(100).describe('App ID (cli_…)'),
    appSecret: credential('the App Secret'),
    verificationToken: credential('the event subscription\'s Verification Token'),
    /** With an Encrypt Key, Lark encrypts events and signs every request (X-Lark-Signature): both are checked. */
    encryptKey: credential('the event subscription\'s Encrypt Key').optional(),
    ...common,
  })
  .strict();

export const DingTalkIntegration = z
  .object({
    platform: z.literal('dingtalk'),
    appKey: z.string().trim().min(1).max(100).describe('The app\'s AppKey (Client ID), also its robot code'),
    appSecret: credential('the app\'s AppSecret (Client Secret): callbacks are signed with it'),
    ...common,
  })
  .strict();

/** A robot's connection to one chat platform (`integrations` in the robot definition). */
export const ChatIntegration = z.discriminatedUnion('platform', [TelegramIntegration, SlackIntegration, DiscordIntegration, LarkIntegration, DingTalkIntegration]);
export type ChatIntegration = z.infer<typeof ChatIntegration>;
export type ChatIntegrationOf<P extends ChatPlatform> = Extract<ChatIntegration, { platform: P }>;

/** The credential names an integration uses, by field. */
export function integrationCredentials(i: ChatIntegration): Record<string, string> {
  switch (i.platform) {
    case 'telegram':
      return { botToken: i.botToken, webhookSecret: i.webhookSecret };
    case 'slack':
      return { botToken: i.botToken, signingSecret: i.signingSecret };
    case 'discord':
      return { botToken: i.botToken };
    case 'lark':
      return { appSecret: i.appSecret, verificationToken: i.verificationToken, ...(i.encryptKey ? { encryptKey: i.encryptKey } : {}) };
    case 'dingtalk':
      return { appSecret: i.appSecret };
  }
}

/** The robot's integrations: at most one per platform. */
export const ChatIntegrations = z
  .array(ChatIntegration)
  .max(CHAT_PLATFORMS.length)
  .refine((list) => new Set(list.map((i) => i.platform)).size === list.length, 'at most one integration per platform');

/** Where the API takes each platform's requests: `/chat/<platform>/<robotId>`. */
export const inboundPath = (platform: ChatPlatform, robotId: string): string => `/chat/${platform}/${robotId}`;

// ---- one chat thread ------------------------------------------------------------------------------------------

/** Where replies go: the platform's chat (channel, group, DM) and, where the platform has them, the thread. */
export const ChatRef = z.object({
  /** Telegram chat id, Slack channel, Discord channel, Lark chat_id, DingTalk conversationId. */
  id: z.string().min(1).max(200),
  /** Slack thread_ts, Telegram forum topic (message_thread_id). */
  thread: z.string().max(100).optional(),
  kind: z.enum(['private', 'group']),
  /** DingTalk one-to-one chats are answered by user id. */
  userId: z.string().max(200).optional(),
});
export type ChatRef = z.infer<typeof ChatRef>;

/** The key of a thread within a platform: the chat and, where there is one, the thread. */
export const chatKeyOf = (chat: Pick<ChatRef, 'id' | 'thread'>): string => (chat.thread ? `${chat.id}/${chat.thread}` : chat.id);

/**
 * Workflow id of the conversation of one thread: `chat-<robotId>-<platform>-<digest of the chat key>` (the digest
 * keeps the id short and free of a platform's characters; the API computes it, workflows have no hashing).
 */
export const conversationWorkflowId = (robotId: string, platform: ChatPlatform, chatKeyDigest: string): string => `chat-${robotId}-${platform}-${chatKeyDigest}`;

/** The run id a chat message starts: from the platform's event id, so the same event can never start two runs. */
export function chatRunId(robotId: string, platform: ChatPlatform, eventId: string): string {
  const safe = eventId.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 120);
  return `run-chat-${robotId}-${platform}-${safe}`;
}

/** What a person chose on a button (or with a command): a gate decision, or the Robot Host's Confirm. */
export const CHAT_DECISIONS = ['approve', 'reject', 'revise', 'confirm'] as const;
export const ChatDecision = z.enum(CHAT_DECISIONS);
export type ChatDecision = z.infer<typeof ChatDecision>;

/**
 * A button's value, short enough for Telegram's 64-byte callback data: `mc:<run number in this thread>:<a|r|v|c>:<gate
 * key>`. The run number keeps a click on an old run's message from deciding the newer run's gate.
 */
const DECISION_CODES: Record<ChatDecision, string> = { approve: 'a', reject: 'r', revise: 'v', confirm: 'c' };
export function encodeButton(n: number, decision: ChatDecision, gateKey = ''): string {
  return `mc:${n}:${DECISION_CODES[decision]}:${gateKey}`;
}
export function decodeButton(value: string): { n: number; decision: ChatDecision; gateKey?: string } | undefined {
  const m = /^mc:(\d{1,9}):([arvc]):([A-Za-z0-9#_-]{0,40})$/.exec(value);
  if (!m) return undefined;
  const decision = (Object.entries(DECISION_CODES).find(([, c]) => c === m[2]) as [ChatDecision, string])[0];
  return { n: Number(m[1]), decision, gateKey: m[3] || undefined };
}

/** How to answer a person's click privately (a Telegram callback query, a Slack ephemeral message). */
export const ChatAckRef = z.object({
  /** Telegram callback_query id; Lark's open_message_id of the card. */
  id: z.string().max(200).optional(),
  userId: z.string().max(200).optional(),
});
export type ChatAckRef = z.infer<typeof ChatAckRef>;

/**
 * One inbound event, verified and normalised by the API, as the `chatInbound` signal carries it to the
 * conversation. `text` is a message (commands such as `/cancel` included); `action` a button click.
 */
export const ChatInbound = z.object({
  /** The platform's own id of the event (update_id, event_id, interaction id, msgId): the same event twice is one. */
  eventId: z.string().min(1).max(200),
  at: IsoTime,
  user: z.object({ id: z.string().min(1).max(200), name: z.string().max(200).optional() }),
  text: z.string().max(MAX_TEXT).optional(),
  action: z
    .object({
      decision: ChatDecision,
      /** The run number within the thread (see encodeButton). */
      n: z.number().int().min(1),
      gateKey: z.string().max(40).optional(),
      /** The platform's id of this click: the decision id, so a retried click is applied once. */
      clickId: z.string().min(1).max(200),
      /** The message the button was on. */
      messageId: z.string().max(200).optional(),
    })
    .optional(),
  /** How to answer a click privately. */
  ack: ChatAckRef.optional(),
  /** The integration as the definition has it now (credential names only). */
  integration: ChatIntegration,
  /** The run a message would start: built by the API from the robot's definition, with the run id from the event id. */
  run: z.object({ runId: Id, input: RunInput }).optional(),
});
export type ChatInbound = z.infer<typeof ChatInbound>;

/** What starts a conversation (and what it carries over continue-as-new). */
export interface ChatConversationInput {
  robotId: string;
  platform: ChatPlatform;
  chat: ChatRef;
  /** Continue-as-new once the history has this many events. */
  maxHistoryEvents?: number;
  /** Carried over continue-as-new. */
  state?: ChatConversationState;
}

/** One run of a thread, as the conversation follows it. */
export interface ChatRunRecord {
  /** 1, 2, 3… within the thread (in button values). */
  n: number;
  runId: string;
  /** Who started it (platform user id). */
  by: string;
  status: string;
  stage?: string;
  /** The message edited as the run moves (where the platform can edit). */
  statusMessageId?: string;
  /** The gate the run waits at, and the message with its buttons. */
  gateKey?: string;
  gateMessageId?: string;
  /** Robot Host turns already posted, and the message with the Confirm button. */
  hostTurns?: number;
  hostStatus?: string;
  confirmMessageId?: string;
  /** The newest notice applied (notices are snapshots; an older one changes nothing). */
  seq: number;
  finished?: boolean;
}

export interface ChatConversationState {
  robotId: string;
  platform: ChatPlatform;
  chat: ChatRef;
  /** The newest integration settings (credential names, approvers, users). */
  integration?: ChatIntegration;
  /** Recent messages of the thread: the context of the next run. */
  transcript: { role: 'person' | 'robot'; by?: string; text: string; at: string }[];
  runs: ChatRunRecord[];
  /** The run number of the run going on, if any. */
  active?: number;
  nextRun: number;
  /** Platform event ids already handled (newest last, bounded): a repeat changes nothing. */
  seen: string[];
  /** An approver who pressed Send back: their next message is the feedback. */
  awaitingFeedback?: { userId: string; n: number; gateKey: string };
  /** How many times this conversation has continued-as-new. */
  generation: number;
  counts: { events: number; duplicates: number; runs: number; errors: number };
  lastEvent?: { at: string; type: string };
  lastError?: { at: string; message: string };
}

/**
 * What a run tells its conversation whenever it moves (status, stage, gate, host turn): a snapshot, numbered, so
 * that a late one is ignored. Sent by the run workflow itself (signal), so nothing polls.
 */
export interface ChatRunNotice {
  runId: string;
  seq: number;
  status: string;
  stage?: string;
  gate?: { key: string; gate: string };
  host?: { status: string; turns: number; text?: string };
  error?: string;
}

/** What the conversation's memo holds, for the integration status without a worker. */
export interface ChatConversationMemo {
  platform: ChatPlatform;
  chatKey: string;
  runs: number;
  lastEvent?: { at: string; type: string };
  lastError?: { at: string; message: string };
}

/** Who did something in a chat, as runs record it: `<platform>:<name or id>`. */
export const chatActor = (platform: ChatPlatform, user: { id: string; name?: string }): string =>
  Actor.parse(`${platform}:${(user.name || user.id).slice(0, 150)}`);

// ---- the page's view -----------------------------------------------------------------------------------------

/** An integration as the API shows it: settings and credential names, where to point the platform, and how it goes. */
export const IntegrationStatus = z.object({
  platform: ChatPlatform,
  /** The definition's settings: credential names, never values. */
  integration: ChatIntegration,
  /** Every credential it names is set (in the API's environment or the encrypted store). */
  connected: z.boolean(),
  /** Credentials it names that are missing. */
  missingCredentials: z.array(z.string()),
  /** The URL to paste into the platform (absolute when MC_PUBLIC_URL is set or the request shows the host). */
  inboundUrl: z.string(),
  /** What to set up on the platform's side, in one line. */
  setup: z.string(),
  conversations: z.number().int(),
  lastEvent: z.object({ at: IsoTime, type: z.string() }).optional(),
  lastError: z.object({ at: IsoTime, message: z.string() }).optional(),
});
export type IntegrationStatus = z.infer<typeof IntegrationStatus>;

/** What each platform needs on its side (the README has the steps). */
export const PLATFORM_SETUP: Record<ChatPlatform, string> = {
  telegram: 'Connecting sets the bot\'s webhook to the inbound URL with a secret token (setWebhook); messages and inline-keyboard clicks arrive there.',
  slack: 'Paste the inbound URL as the Events API Request URL (events: app_mention, message.im) and as the Interactivity Request URL.',
  discord: 'Paste the inbound URL as the Interactions Endpoint URL; connecting registers the /ask and /cancel commands.',
  lark: 'Paste the inbound URL as the event subscription Request URL (event im.message.receive_v1) and as the card callback URL (card.action.trigger).',
  dingtalk: 'Paste the inbound URL as the robot\'s message receiving address (HTTP mode).',
};

/** Platforms whose bots can edit a message they sent (the status message is edited there, posted once elsewhere). */
export const PLATFORM_CAN_EDIT: Record<ChatPlatform, boolean> = { telegram: true, slack: true, discord: true, lark: true, dingtalk: false };
/** Platforms with clickable buttons on a bot's message; elsewhere people type /approve, /reject, /revise, /confirm. */
export const PLATFORM_HAS_BUTTONS: Record<ChatPlatform, boolean> = { telegram: true, slack: true, discord: true, lark: true, dingtalk: false };

/** A button on a message the robot sends. */
export interface ChatButton {
  label: string;
  /** encodeButton(...) */
  value: string;
  style?: 'primary' | 'danger';
}
