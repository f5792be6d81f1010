/**
 * All configuration, parsed once from the environment at start-up. Bad values fail at once with the
 * variable's name. Every variable is documented here and in the README's configuration table.
 */
import path from 'node:path';
import { z } from 'zod';
import { LOG_LEVELS } from './log';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

export const EnvSchema = z.object({
  // ---- Every process --------------------------------------------------------------------------------------
  /** Lowest level of the log lines a process writes: debug, info, warn or error. */
  MC_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),

  // ---- Temporal -------------------------------------------------------------------------------------------
  /** host:port of an existing Temporal frontend. When set, no embedded dev server is started. */
  TEMPORAL_ADDRESS: optionalString,
  /** Temporal namespace. */
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Use TLS for the Temporal connection (implied by TEMPORAL_TLS_CERT/KEY or TEMPORAL_API_KEY). */
  TEMPORAL_TLS: bool.default('false'),
  /** Client certificate (PEM file path) for mTLS. */
  TEMPORAL_TLS_CERT: optionalString,
  /** Client key (PEM file path) for mTLS. */
  TEMPORAL_TLS_KEY: optionalString,
  /** API key for Temporal Cloud. Never logged. */
  TEMPORAL_API_KEY: optionalString,
  /** Task queue the worker polls and the API starts runs on. */
  MC_TASK_QUEUE: z.string().min(1).default('mission-control'),
  /** gRPC port of the embedded dev server (npm start). */
  MC_TEMPORAL_PORT: int(1, 65535).default(7233),
  /** Web UI port of the embedded dev server (npm start). */
  MC_TEMPORAL_UI_PORT: int(1, 65535).default(8233),
  /** Base URL of the Temporal Web UI, used for the links on each run. */
  MC_TEMPORAL_UI_URL: optionalString,
  /**
   * Longest the API waits for one call to Temporal, retries included, in ms (long polls excepted): past it the
   * request answers 503, so an unreachable Temporal fails fast instead of hanging the client.
   */
  MC_TEMPORAL_TIMEOUT_MS: int(200, 120_000).default(3000),

  // ---- API --------------------------------------------------------------------------------------------------
  /** HTTP port of the API and page (0 picks a free port). */
  PORT: int(0, 65535).default(3000),
  /** Interface the API listens on. */
  MC_HOST: z.string().default('127.0.0.1'),
  /** Comma-separated API keys accepted as `Authorization: Bearer <key>`. */
  MC_API_KEYS: optionalString,
  /** Password of the web page. */
  MC_ADMIN_PASSWORD: optionalString,
  /** Folder for local state: the dev server database, the generated API key. */
  MC_DATA_DIR: z.string().default(path.resolve(__dirname, '..', '.data')),
  /** Largest JSON body the API accepts. */
  MC_MAX_BODY: z.string().default('256kb'),
  /** Base URL people reach the API at (e.g. https://mc.example.com), for links in deliveries; unset: no API links. */
  MC_PUBLIC_URL: optionalString,
  /**
   * Key of the encrypted credential store (any string; a 256-bit key is derived from it). API replicas and workers
   * must share it. When unset, one is generated into MC_DATA_DIR (fine while they share that folder).
   */
  MC_SECRET_KEY: optionalString,
  /** Deepest nesting of objects and arrays in any JSON body, webhooks included (deeper: 400 naming this limit). */
  MC_MAX_JSON_DEPTH: int(4, 1000).default(64),
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (rate limits, logs): unset = none (the socket's
   * peer is the client), `true`, a hop count, or addresses/CIDRs/`loopback` (Express's "trust proxy").
   */
  MC_TRUST_PROXY: optionalString,

  // ---- Limits (api/http/rate-limits.ts; each counter is per API process) ----------------------------------------
  /** The window every rate limit below counts in, in seconds. */
  MC_RATE_LIMIT_WINDOW_SECONDS: int(1, 86_400).default(60),
  /** Requests per window from one client address (all but /healthz and /readyz). */
  MC_RATE_LIMIT_PER_ADDRESS: int(1, 10_000_000).default(3000),
  /** Requests per window with one credential (an API key, the admin password, one page session). */
  MC_RATE_LIMIT_PER_KEY: int(1, 10_000_000).default(3000),
  /** Run starts per window with one credential (POST /api/runs, robot and schedule triggers, backfills, compound goals). */
  MC_RATE_LIMIT_RUN_STARTS: int(1, 1_000_000).default(300),
  /** Failed sign-ins per window from one client address; past it every sign-in from there waits for the window. */
  MC_RATE_LIMIT_LOGIN: int(1, 100_000).default(10),
  /** Requests refused for missing or wrong credentials per window from one address; past it, all such requests from there get 429. */
  MC_RATE_LIMIT_AUTH_FAILURES: int(1, 1_000_000).default(60),
  /**
   * Seconds between the comment lines that keep an event stream alive through proxies; a stream opened with the
   * page's cookie also re-checks its session then and ends once the session is signed out.
   */
  MC_SSE_PING_SECONDS: int(1, 300).default(15),
  /** Event streams (GET /api/events, /api/runs/:id/stream) one credential may hold open on one API process. */
  MC_SSE_MAX_PER_KEY: int(1, 100_000).default(20),
  /** A stream's catch-up from Temporal (Last-Event-ID not in memory) reaches back at most this many seconds. */
  MC_SSE_CATCHUP_MAX_AGE_SECONDS: int(1, 30 * 86_400).default(3600),
  /** Most runs a catch-up from Temporal reads. */
  MC_SSE_CATCHUP_MAX_RUNS: int(1, 10_000).default(200),
  /** Most events one catch-up sends (the newest are kept; a cut catch-up is announced). */
  MC_SSE_CATCHUP_MAX_EVENTS: int(1, 1_000_000).default(2000),
  /** Most bytes of event data one catch-up sends (the newest are kept; a cut catch-up is announced). */
  MC_SSE_CATCHUP_MAX_BYTES: int(1024, 100_000_000).default(1_000_000),

  // ---- Robots, schedules, webhooks ---------------------------------------------------------------------------
  /**
   * Master key from which every robot's webhook secret is derived (HMAC of robot id + key generation); the secrets
   * themselves are never stored. All API replicas must share it. When unset, one is generated into MC_DATA_DIR.
   */
  MC_WEBHOOK_KEY: optionalString,
  /**
   * Webhooks: until when version 1 signatures (`sha256=`, which do not cover the delivery id) are still accepted, an
   * ISO date or time. Afterwards only v2 (`v2=`) is; set a past date (e.g. 2000-01-01) to refuse v1 now.
   */
  MC_WEBHOOK_V1_UNTIL: z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO date or time, e.g. 2027-03-01')
    .transform((v) => new Date(v))
    .default('2027-03-01'),
  /** Largest webhook body accepted by POST /hooks/:robotId (bigger deliveries get 413). */
  MC_WEBHOOK_MAX_BODY: z.string().default('256kb'),
  /** A continuous robot's loop continues-as-new once its history has this many events. */
  MC_CONTINUOUS_MAX_HISTORY: int(20, 50_000).default(1000),
  /** While runs wait for a concurrency slot, how often the robot's semaphore checks its holders still run (s). */
  MC_SLOT_CHECK_SECONDS: int(1, 86_400).default(30),
  /**
   * How long a decision (or another action on a run: node control, the Robot Host) waits for a worker to take it,
   * in seconds; then the request answers 503 instead of waiting forever.
   */
  MC_UPDATE_ACCEPT_TIMEOUT_SECONDS: int(1, 600).default(15),
  /** How long POST /api/robots/generate-role waits for a worker to draft the role, in seconds. */
  MC_GENERATE_TIMEOUT_SECONDS: int(1, 600).default(60),

  // ---- Worker -----------------------------------------------------------------------------------------------
  /** Activities run at once by one worker. */
  MC_MAX_CONCURRENT_ACTIVITIES: int(1, 10_000).default(100),
  /** Workflow tasks run at once by one worker. */
  MC_MAX_CONCURRENT_WORKFLOW_TASKS: int(1, 10_000).default(40),
  /** Workflows kept in the worker's sticky cache (bounds memory for parked runs). */
  MC_MAX_CACHED_WORKFLOWS: int(0, 100_000).default(1000),
  /** How long a stopping worker lets in-flight activities finish, in seconds. */
  MC_SHUTDOWN_GRACE_SECONDS: int(0, 3600).default(10),
  /** Port for the worker's own /metrics when it runs as a separate process (0 = off). */
  MC_WORKER_METRICS_PORT: int(0, 65535).default(0),
  /**
   * How often each worker process reports itself to Temporal (SDK worker heartbeats: identity, task queue, host CPU
   * and memory, slots in use), in seconds. The page's fleet overview is read from these.
   */
  MC_WORKER_HEARTBEAT_SECONDS: int(1, 60).default(5),
  /** The API shows a worker as live while its last heartbeat is at most this old, in seconds (a killed worker then drops out). */
  MC_FLEET_STALE_SECONDS: int(2, 3600).default(15),

  // ---- Models -----------------------------------------------------------------------------------------------
  /** offline | openai | anthropic | openai-compatible | auto (first configured provider, else offline). */
  MC_MODEL_PROVIDER: z.enum(['auto', 'offline', 'openai', 'anthropic', 'openai-compatible']).default('auto'),
  /** OpenAI API key. Never logged. */
  OPENAI_API_KEY: optionalString,
  /** Base URL of OpenAI or of any OpenAI-compatible server (Ollama, vLLM, LM Studio, OpenRouter). */
  OPENAI_BASE_URL: optionalString,
  /** Anthropic API key. Never logged. */
  ANTHROPIC_API_KEY: optionalString,
  /** Anthropic base URL (for proxies and tests). */
  ANTHROPIC_BASE_URL: optionalString,
  /** Model for planning, synthesis and validation (the "large" tier). */
  MC_MODEL_LARGE: optionalString,
  /** Model for quick extraction and formatting (the "fast" tier). */
  MC_MODEL_FAST: optionalString,
  /** Per-request timeout of a model call, in milliseconds. */
  MC_MODEL_TIMEOUT_MS: int(1000, 3_600_000).default(120_000),
  /** Repairs of an invalid structured answer (the validation error is fed back each time). */
  MC_MODEL_MAX_REPAIRS: int(0, 10).default(2),
  /** Simulated latency of each offline model call, in milliseconds (demos, tests, benchmarks). */
  MC_OFFLINE_DELAY_MS: int(0, 3_600_000).default(0),
  /** Model for vision nodes (defaults to the large model). */
  MC_MODEL_VISION: optionalString,

  // ---- Task graph (Tasks stage) -------------------------------------------------------------------------------
  /**
   * Most nodes a planned graph may have. Bounds history and payloads: with MC_NODE_OUTPUT_MAX_CHARS every node's
   * output stays small, so a graph of this size fits one workflow history (see workflows/dag/executor.ts).
   */
  MC_DAG_MAX_NODES: int(1, 200).default(50),
  /** Longest node output kept, in characters; longer outputs are cut with a note saying how much was dropped. */
  MC_NODE_OUTPUT_MAX_CHARS: int(100, 100_000).default(4000),
  /** Task queue of this machine's desktop worker, and where the API routes `command` nodes by default. */
  MC_DESKTOP_QUEUE: optionalString,

  // ---- Artifacts and delivery ------------------------------------------------------------------------------------
  /**
   * Folder of the artifact store: delivered files and outputs too large for a history payload, one folder per run.
   * Workers write it and the API reads it, so on several hosts it must be a shared volume. Unset: MC_DATA_DIR/artifacts.
   */
  MC_ARTIFACT_DIR: optionalString,
  /** Outputs larger than this (bytes of JSON) are kept in the artifact store and referenced from history (claim check). */
  MC_INLINE_OUTPUT_MAX_BYTES: int(1024, 1_000_000).default(65_536),
  /** Time limit of one delivery attempt (a request to a webhook or platform, an SMTP send), in milliseconds. */
  MC_DELIVERY_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /** SMTP server of the `email` destination: smtp://user:password@host:587 or smtps://…:465. Never logged. */
  MC_SMTP_URL: optionalString,
  /** From address of delivered mail. */
  MC_SMTP_FROM: z.string().default('Mission Control <mission-control@localhost>'),
  /** Base URL of the Slack Web API (tests point it at a local fake). */
  MC_SLACK_API_URL: z.string().url().default('https://slack.com/api/'),
  /** Base URL of the Discord API (without the version). */
  MC_DISCORD_API_URL: z.string().url().default('https://discord.com/api'),
  /** Base URL of the Telegram Bot API. */
  MC_TELEGRAM_API_URL: z.string().url().default('https://api.telegram.org'),
  /** Base URL of the Lark / Feishu Open API: https://open.feishu.cn (Feishu) or https://open.larksuite.com (Lark). */
  MC_LARK_API_URL: z.string().url().default('https://open.feishu.cn'),
  /** Base URL of the DingTalk Open API. */
  MC_DINGTALK_API_URL: z.string().url().default('https://api.dingtalk.com'),
  /** A chat conversation's workflow continues-as-new once its history has this many events. */
  MC_CHAT_MAX_HISTORY: int(100, 50_000).default(2000),

  // ---- Tools ------------------------------------------------------------------------------------------------
  /**
   * Outbound requests to user-chosen URLs (http_fetch, escalation webhooks; activities/net/guarded-http.ts):
   * comma-separated hosts and CIDRs allowed even though they are loopback/private/link-local
   * (e.g. `intranet.example,10.1.0.0/16,127.0.0.2/32`). Everything else non-public is refused.
   */
  MC_FETCH_ALLOWLIST: z.string().default(''),
  /** http_fetch: largest body read, in bytes (the rest is cut off and reported). */
  MC_FETCH_MAX_BYTES: int(1024, 50_000_000).default(1_000_000),
  /** http_fetch: time limit of a whole fetch (all redirects), in milliseconds. */
  MC_FETCH_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /** command: longest a command may run, in milliseconds (then it is killed). */
  MC_COMMAND_TIMEOUT_MS: int(100, 3_600_000).default(60_000),
  /** command: most bytes of stdout and of stderr kept (the rest is dropped and reported). */
  MC_COMMAND_MAX_OUTPUT_BYTES: int(1024, 50_000_000).default(200_000),
  /**
   * command: where programs run. `bwrap` (default): in a bubblewrap sandbox without the worker's environment,
   * processes, files or network (activities/tools/sandbox.ts); the desktop worker refuses to start without it.
   * `none`: directly, as the worker's user, with a scrubbed environment only (weaker: see the README).
   */
  MC_COMMAND_SANDBOX: z.enum(['bwrap', 'none']).default('bwrap'),
  /** command: let sandboxed programs use the host's network (default: none, not even Temporal or the API). */
  MC_COMMAND_NETWORK: bool.default('false'),
});

export type Config = z.infer<typeof EnvSchema>;

/** Raised for bad configuration; the message names every bad variable. */
export class ConfigError extends Error {}

/** Parse the environment once. Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/**
 * Which model provider the configuration selects: explicit, or the first one with credentials, else offline.
 * Here rather than with the model clients so that the API can say which model answers without loading them.
 */
export function selectProvider(c: Config): string {
  if (c.MC_MODEL_PROVIDER !== 'auto') return c.MC_MODEL_PROVIDER;
  if (c.ANTHROPIC_API_KEY) return 'anthropic';
  if (c.OPENAI_API_KEY) return c.OPENAI_BASE_URL ? 'openai-compatible' : 'openai';
  if (c.OPENAI_BASE_URL) return 'openai-compatible';
  return 'offline';
}
