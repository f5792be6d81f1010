/**
 * Delivery: where a robot's result goes once the run is through its `final` gate, and what the run records about
 * each destination. The destinations are a registry (activities/delivery/destinations/): each type here has one
 * file there and one registry line, and runs as its own activity (`deliver<Type>`, e.g. `deliverWebhook`), so it
 * retries on its own and shows in the Temporal history by name.
 *
 * Secrets never appear here: a definition *names* a credential (a bot token, an incoming-webhook URL, a signing
 * secret), and the activity resolves the name on the worker (environment variable `MC_CREDENTIAL_<NAME>`, or the
 * encrypted credential store, lib/credentials.ts). So neither the robot definition, nor the run's input, nor its
 * history, events or state ever hold the secret itself.
 */
import { z } from 'zod';
import { type ArtifactInfo, ClaimCheck } from './artifacts';
import { HttpUrl, IsoTime } from './common';
import { Usage } from './pipeline';

/** A credential's name: lower-case letters, digits, `_` and `-`. */
export const CredentialName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a credential name: 1-63 lower-case letters, digits, _ and -');
export type CredentialName = z.infer<typeof CredentialName>;

/** The environment variable a credential may come from: `slack-bot` → `MC_CREDENTIAL_SLACK_BOT`. */
export const credentialEnvName = (name: string): string => `MC_CREDENTIAL_${name.toUpperCase().replace(/-/g, '_')}`;

const credential = (what: string) => CredentialName.describe(`Name of the credential holding ${what} (never the secret itself)`);

export const WebhookDestination = z
  .object({
    type: z.literal('webhook'),
    url: HttpUrl.describe('Where the JSON POST goes (through the outbound guard: non-public addresses need MC_FETCH_ALLOWLIST)'),
    signingSecret: credential('the HMAC-SHA256 signing secret').optional(),
  })
  .strict();

export const FileDestination = z
  .object({
    type: z.literal('file'),
    /** Base name of the files: `<name>.md` and `<name>.json`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ and -')
      .default('deliverable')
      .describe('Base name of the artifacts: <name>.md and <name>.json'),
  })
  .strict();

export const EmailDestination = z
  .object({
    type: z.literal('email'),
    to: z.union([z.string().email(), z.array(z.string().email()).min(1).max(20)]),
    subject: z.string().trim().min(1).max(200).optional().describe('Default: "<robot name>: <first line of the task>"'),
  })
  .strict();

export const SlackDestination = z
  .object({
    type: z.literal('slack'),
    credential: credential('a bot token (xoxb-…) when `channel` is given, else an incoming-webhook URL'),
    channel: z.string().min(1).max(200).optional().describe('Channel id or name for chat.postMessage (bot token); absent: the credential is an incoming-webhook URL'),
  })
  .strict();

export const DiscordDestination = z
  .object({
    type: z.literal('discord'),
    credential: credential('a bot token when `channel` is given, else a channel webhook URL'),
    channel: z.string().regex(/^\d{1,30}$/, 'must be a channel id (digits)').optional().describe('Channel id for the bot API; absent: the credential is a webhook URL'),
  })
  .strict();

export const TelegramDestination = z
  .object({
    type: z.literal('telegram'),
    credential: credential('the bot token'),
    chatId: z.string().regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,64})$/, 'must be a chat id (digits, may start with -) or @channelname'),
  })
  .strict();

/** Where results go: one of the registered destination types. */
export const DeliveryDestination = z.discriminatedUnion('type', [
  WebhookDestination,
  FileDestination,
  EmailDestination,
  SlackDestination,
  DiscordDestination,
  TelegramDestination,
]);
export type DeliveryDestination = z.infer<typeof DeliveryDestination>;
export type DestinationType = DeliveryDestination['type'];

/** The destination types this code knows, read from the union above (a new type is one schema in it). */
export const DESTINATION_TYPES: readonly DestinationType[] = DeliveryDestination.options.map((o) => o.shape.type.value);

/** What a destination that fails for good means for the run: `warn` (Done, with a warning) or `fail` (Failed). */
export const DELIVERY_FAILURE_POLICIES = ['warn', 'fail'] as const;
export const DeliveryFailurePolicy = z.enum(DELIVERY_FAILURE_POLICIES);
export type DeliveryFailurePolicy = z.infer<typeof DeliveryFailurePolicy>;

/** What a run delivers to: the robot's destinations and its failure policy (RunInput.delivery). */
export const DeliveryPlan = z.object({
  destinations: z.array(DeliveryDestination).max(20),
  onFailure: DeliveryFailurePolicy.default('warn'),
});
export type DeliveryPlan = z.infer<typeof DeliveryPlan>;

/** Activity type of a destination: `webhook` → `deliverWebhook`. */
export const destinationActivity = (type: string): string => `deliver${type.charAt(0).toUpperCase()}${type.slice(1)}`;

/** The idempotency key of the n-th destination (1-based) of a run: the same on every attempt. */
export const deliveryKey = (runId: string, n: number): string => `${runId}:deliver:${n}`;

/** Where a destination sends, for people: never a secret (a credential is shown by name only). */
export function describeTarget(d: DeliveryDestination): string {
  switch (d.type) {
    case 'webhook':
      return d.url;
    case 'file':
      return `${d.name}.md, ${d.name}.json`;
    case 'email':
      return Array.isArray(d.to) ? d.to.join(', ') : d.to;
    case 'slack':
    case 'discord':
      return d.channel ? `channel ${d.channel} (credential ${d.credential})` : `incoming webhook (credential ${d.credential})`;
    case 'telegram':
      return `chat ${d.chatId} (credential ${d.credential})`;
  }
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'skipped'] as const;
export const DeliveryStatus = z.enum(DELIVERY_STATUSES);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

/** One destination of a run, as the run state shows it (`state.delivery.destinations[]`). */
export const DestinationOutcome = z.object({
  /** 1-based position in the robot's `delivery` list; part of the idempotency key. */
  n: z.number().int(),
  type: z.string(),
  /** Where it goes, for people (URL, address, channel; credentials by name only). */
  target: z.string(),
  status: DeliveryStatus,
  /** Attempts made (Temporal retries of the destination's activity). */
  attempts: z.number().int(),
  /** What the receiving side answered: HTTP status code and/or the message id it gave. */
  response: z.object({ statusCode: z.number().int().optional(), messageId: z.string().optional() }).optional(),
  /** When it was delivered, or failed for good. */
  at: IsoTime.optional(),
  error: z.string().optional(),
  /** Sent as `Idempotency-Key` (webhook), Message-ID (email), nonce (Discord): `<runId>:deliver:<n>`. */
  idempotencyKey: z.string(),
  /** Artifacts it made (the `file` destination). */
  artifacts: z.array(z.string()).optional(),
});
export type DestinationOutcome = z.infer<typeof DestinationOutcome>;

/** The run's delivery as the state shows it (`state.delivery`), for the page and the API. */
export const DeliveryState = z.object({
  onFailure: DeliveryFailurePolicy,
  destinations: z.array(DestinationOutcome),
  /** Set when a destination failed for good under `onFailure: warn`: the run is Done, with this warning. */
  warning: z.string().optional(),
});
export type DeliveryState = z.infer<typeof DeliveryState>;

/** The deliverable every destination sends. */
export const Deliverable = z.object({
  runId: z.string(),
  robot: z.object({ id: z.string(), name: z.string(), version: z.number() }),
  task: z.string(),
  format: z.literal('markdown'),
  /** The Markdown report, or the claim check of the formatted delivery when it was too large for history. */
  content: z.union([z.string(), ClaimCheck]),
  usage: Usage,
  offline: z.boolean(),
});
export type Deliverable = z.infer<typeof Deliverable>;

/** What the workflow hands a destination's activity. */
export interface DeliveryRequest {
  n: number;
  idempotencyKey: string;
  destination: DeliveryDestination;
  deliverable: Deliverable;
}

/**
 * What a destination's activity answers: delivered, or failed for good (a non-retryable refusal, or the last
 * attempt). A retryable failure before the last attempt is thrown instead, so Temporal retries it.
 */
export interface DeliveryAttempt {
  status: 'delivered' | 'failed';
  attempts: number;
  response?: { statusCode?: number; messageId?: string };
  error?: string;
  artifacts?: ArtifactInfo[];
}
